-- expect: (error object is a table value)
-- The C side must not call __tostring on the error object.
error(setmetatable({}, {__tostring = function() while true do end end}))
