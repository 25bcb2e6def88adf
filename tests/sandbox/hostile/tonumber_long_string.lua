-- expect: time limit of 1 s exceeded
local s = ("1"):rep(4000000)
while true do tonumber(s) end
