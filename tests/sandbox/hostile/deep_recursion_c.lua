-- expect: stack overflow
-- Recursion through a C function (gsub calling back into Lua).
local function f() return (string.gsub("a", "a", f)) end
f()
