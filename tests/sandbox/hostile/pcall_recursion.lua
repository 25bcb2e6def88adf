-- expect: time limit of 1 s exceeded
-- Recurse until the C stack is full, catch that, and start again.
local function f() pcall(f) return f() end
f()
