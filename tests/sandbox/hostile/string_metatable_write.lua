-- expect: attempt to index a boolean value
getmetatable("").__index = {dump = print}
function prepare_jobs(context) return {{task = "t", chunk = "c"}} end
