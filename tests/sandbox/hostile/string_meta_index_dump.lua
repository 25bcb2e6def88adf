-- expect: attempt to index a boolean value
-- Reach the real string library through the string metatable.
local real = getmetatable("").__index
local bc = real.dump(print)
function prepare_jobs(context) return {{task = "t", chunk = "c"}} end
