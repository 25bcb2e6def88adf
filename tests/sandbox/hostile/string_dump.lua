-- expect: field 'dump'
-- Bytecode could be fed back to a loader.
local bc = string.dump(function() return 1 end)
function prepare_jobs(context) return {{task = "t", chunk = "c"}} end
