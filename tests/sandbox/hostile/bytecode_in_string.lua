-- expect: global 'load'
-- A precompiled chunk (header of Lua 5.4 bytecode) handed to a loader.
local bc = "\27Lua\84\0\25\147\13\10\26\10\4\8\8\120\86\0\0\0\0\0\0\0\0\0\0\0\40\119\64\1"
local fn = load(bc, "x", "b")
function prepare_jobs(context) return {{task = "t", chunk = "c"}} end
