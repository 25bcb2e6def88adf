-- expect: string.rep: the result would be
local s = ("x"):rep(1000000, ("y"):rep(1000))
function prepare_jobs(context) return {{task = "t", chunk = "c"}} end
