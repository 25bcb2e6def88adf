-- expect: per string
local s = ("x"):rep(1000)
while true do s = table.concat({s, s, s}) end
function prepare_jobs(context) return {{task = "t", chunk = "c"}} end
