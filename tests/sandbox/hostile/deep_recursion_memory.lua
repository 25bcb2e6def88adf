-- expect: memory limit of 16 MiB exceeded
-- limits: memory_mb=16
local function f(a, b, c, d, e, g, h) return 1 + f(a, b, c, d, e, g, h) end
f()
