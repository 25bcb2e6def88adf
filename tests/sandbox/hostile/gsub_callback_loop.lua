-- expect: time limit of 1 s exceeded
local s = string.gsub("abc", "%w", function(c) while true do end end)
function prepare_jobs(context) return {{task = "t", chunk = "c"}} end
