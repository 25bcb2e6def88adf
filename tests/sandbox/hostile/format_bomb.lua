-- expect: per string
-- Many wide conversions in one call.
local args = {}
for i = 1, 50000 do args[i] = i end
local s = string.format(("%99d"):rep(50000), table.unpack(args))
function prepare_jobs(context) return {{task = "t", chunk = "c"}} end
