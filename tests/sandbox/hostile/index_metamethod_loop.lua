-- expect: job 1: field 'task' must be a non-empty string, got nil
-- Job fields are read raw: this __index is never run.
function prepare_jobs(context)
  local mt = {__index = function(t, k) while true do end end}
  return {setmetatable({}, mt)}
end
