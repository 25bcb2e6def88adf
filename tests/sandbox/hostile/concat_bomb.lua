-- expect: per string
local s = "x"
while true do s = s .. s end
function prepare_jobs(context) return {{task = "t", chunk = "c"}} end
