-- expect: time limit of 1 s exceeded
-- A plain error whose handler loops.
xpcall(function() error("first") end, function(e) while true do end end)
function prepare_jobs(context) return {{task = "t", chunk = "c"}} end
