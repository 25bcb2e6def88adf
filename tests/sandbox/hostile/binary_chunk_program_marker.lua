-- expect: program:3:
-- A string escape that spells a bytecode signature is still just text.
local x = "\27Lua" .. load
