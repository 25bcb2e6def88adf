-- expect: time limit of 1 s exceeded
-- Each table.sort of a big table is one long C call.
local t = {}
for i = 1, 1000000 do t[i] = i end
while true do table.sort(t) end
