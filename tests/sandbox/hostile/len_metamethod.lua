-- expect: prepare_jobs returned no jobs
-- The job array is measured raw: __len and __index are ignored.
function prepare_jobs(context)
  return setmetatable({}, {
    __len = function() return 1e9 end,
    __index = function(t, i) return {task = "t", chunk = "c"} end})
end
