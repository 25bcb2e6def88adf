-- expect: finalizer not armed
-- A __gc field added after setmetatable does not mark the object (Lua 5.4).
local mt = {}
local t = setmetatable({}, mt)
mt.__gc = function() while true do end end
t = nil
for i = 1, 200000 do local x = {i} end
error("finalizer not armed")
