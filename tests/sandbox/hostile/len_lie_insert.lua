-- expect: over the limit of 16777216 elements for one call
-- table.insert shifts up to #t elements, and __len may claim 10^12.
local t = setmetatable({}, {__len = function() return 1000000000000 end})
table.insert(t, 1, "x")
