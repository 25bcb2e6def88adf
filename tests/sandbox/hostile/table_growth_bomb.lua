-- expect: memory limit of 64 MiB exceeded
local t = {}
for i = 1, 1e12 do t[i] = i end
function prepare_jobs(context) return {{task = "t", chunk = "c"}} end
