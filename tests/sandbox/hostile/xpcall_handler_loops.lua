-- expect: time limit of 1 s exceeded
-- The message handler of an error raised by the hook runs with hooks off in
-- stock Lua: a looping handler would never be stopped.
xpcall(function() while true do end end, function(e) while true do end end)
function prepare_jobs(context) return {{task = "t", chunk = "c"}} end
