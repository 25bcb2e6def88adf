-- expect: over the limit of 16777216 elements for one call
function prepare_jobs(context)
  local t = setmetatable({1, 2, 3}, {__len = function() return 1 << 40 end})
  table.remove(t, 1)
end
