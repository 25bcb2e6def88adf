-- expect: memory limit of 64 MiB exceeded
local t = {}
local line = ("x"):rep(1000)
for i = 1, 1e12 do t[i] = line .. i end
function prepare_jobs(context) return {{task = "t", chunk = "c"}} end
