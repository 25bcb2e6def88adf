-- expect: no escape found among
-- Walk every table reachable from _G and the string metatable looking for
-- a dangerous function under any name.
-- (names only dangerous in io/os are caught through their tables' names)
local bad = { execute = 1, popen = 1, open = 1, lines = 1, rename = 1, loadlib = 1,
  load = 1, loadstring = 1, dofile = 1, loadfile = 1, require = 1, dump = 1,
  getregistry = 1, sethook = 1, getlocal = 1, setupvalue = 1, collectgarbage = 1,
  getenv = 1, exit = 1, tmpname = 1, setlocale = 1, yield = 1, create = 1, wrap = 1,
  setuservalue = 1, warn = 1 }
local bad_tables = { io = 1, os = 1, debug = 1, package = 1, coroutine = 1 }
local seen, found, count = {}, {}, 0
local function walk(t, path, depth)
  if seen[t] or depth > 5 then return end
  seen[t] = true
  for k, v in pairs(t) do
    if type(v) == "function" then
      count = count + 1
      if bad[k] then found[#found + 1] = path .. "." .. tostring(k) end
    elseif type(v) == "table" then
      if bad_tables[k] then found[#found + 1] = path .. "." .. tostring(k) end
      walk(v, path .. "." .. tostring(k), depth + 1)
    end
  end
  local mt = getmetatable(t)
  if type(mt) == "table" then walk(mt, path .. "<mt>", depth + 1) end
end
walk(_G, "_G", 0)
local smt = getmetatable("")
if type(smt) == "table" then walk(smt, "<string mt>", 0) end
if #found > 0 then error("ESCAPE: " .. table.concat(found, " ")) end
error("no escape found among " .. count .. " functions")
