-- expect: string.rep: the result would be
local s = string.rep("x", 1 << 40)
function prepare_jobs(context) return {{task = "t", chunk = "c"}} end
