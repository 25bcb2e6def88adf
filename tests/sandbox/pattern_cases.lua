-- Random pattern cases for test_sandbox_lua: run under stock Lua and in the
-- sandbox (whose find/match/gmatch/gsub are its own implementation), the
-- text pattern_cases() returns must be identical. The generator is a fixed
-- LCG, so the cases are the same on every run.
local seed = 20240601
local function rnd(n)
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed // 65536 % n + 1
end

local atoms = { "a", "b", "c", ".", "%a", "%d", "%s", "%w", "%A", "%S", "%p", "%x",
  "[ab]", "[^a]", "[a-c]", "[%d_]", "[]]", "[^]a]", "[a-]", "%%", "%.", "%]", "x", " ",
  "1", "(", ")", "()", "%b()", "%bab", "%f[%a]", "%f[%s]", "%1", "%2", "%0", "^", "$",
  "-", "*", "+", "?", "[", "%", "[%a%d]", "%u", "%l", "%c", "%g", "\0", "é" }
local quants = { "", "", "", "", "*", "+", "-", "?" }
local chars = { "a", "b", "c", "a", "b", "x", "1", "2", " ", "(", ")", "_", "]", "%",
  "é", "A", "\n", "\0", "." }

local function gen_pattern()
  local t = {}
  for i = 1, rnd(6) do t[#t + 1] = atoms[rnd(#atoms)] .. quants[rnd(#quants)] end
  return table.concat(t)
end

local function gen_subject()
  local t = {}
  for i = 1, rnd(14) - 1 do t[#t + 1] = chars[rnd(#chars)] end
  return table.concat(t)
end

-- values as ASCII text (bytes >= 128 as \ddd: a capture may cut a
-- character in two, and the sandbox repairs invalid UTF-8 it returns)
local function ser(...)
  local t = {}
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    local s = type(v) == "string" and string.format("%q", v) or tostring(v)
    local bytes = {}
    for k = 1, #s do
      local b = s:byte(k)
      bytes[k] = b < 128 and string.char(b) or "\\" .. b
    end
    t[i] = table.concat(bytes)
  end
  return table.concat(t, ",")
end

-- error messages raised inside the C functions carry no position when the
-- function is called through pcall, so they compare equal
function pattern_cases()
  local out = {}
  local repl_table = { a = "A", b = false, ["1"] = 10 }
  for i = 1, 4000 do
    local s, p = gen_subject(), gen_pattern()
    local init = rnd(7) - 4
    out[#out + 1] = ser(pcall(string.find, s, p, init))
    out[#out + 1] = ser(pcall(string.find, s, p, init, true))
    out[#out + 1] = ser(pcall(string.match, s, p, init))
    out[#out + 1] = ser(pcall(string.gsub, s, p, "<%0>"))
    out[#out + 1] = ser(pcall(string.gsub, s, p, "%1|%%"))
    out[#out + 1] = ser(pcall(string.gsub, s, p, repl_table))
    out[#out + 1] = ser(pcall(string.gsub, s, p, function(a, b) return b and a .. b or nil end,
                              rnd(4) - 1))
    local parts = {}
    local ok, err = pcall(function()
      for a, b in string.gmatch(s, p, init) do
        parts[#parts + 1] = ser(a, b)
        if #parts > 40 then break end
      end
    end)
    if not ok then parts[#parts + 1] = "error: " .. ser(err) end
    out[#out + 1] = table.concat(parts, ";")
  end
  return table.concat(out, "\n")
end

function transform_outputs(jobs)
  return pattern_cases()
end
