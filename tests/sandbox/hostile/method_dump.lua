-- expect: method 'dump'
-- Method syntax goes through the string metatable's __index.
local bc = ("x"):dump()
function prepare_jobs(context) return {{task = "t", chunk = "c"}} end
