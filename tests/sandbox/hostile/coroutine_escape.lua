-- expect: global 'coroutine'
-- Coroutines are left out: each would need its own hook, and chunking
-- never needs them.
local co = coroutine.wrap(function() while true do coroutine.yield() end end)
for i = 1, 1e12 do co() end
function prepare_jobs(context) return {{task = "t", chunk = "c"}} end
