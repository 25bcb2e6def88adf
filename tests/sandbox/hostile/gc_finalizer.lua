-- expect: __gc metamethods are not allowed
-- Finalizers run with hooks off: a looping one would hang lua_close.
setmetatable({}, {__gc = function() while true do end end})
function prepare_jobs(context) return {{task = "t", chunk = "c"}} end
