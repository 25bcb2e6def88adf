-- expect: time limit of 1 s exceeded
print(setmetatable({}, {__tostring = function() while true do end end}))
