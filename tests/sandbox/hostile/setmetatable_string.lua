-- expect: table expected, got string
setmetatable("", {__index = {}})
function prepare_jobs(context) return {{task = "t", chunk = "c"}} end
