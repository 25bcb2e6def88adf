-- expect: time limit of 1 s exceeded
-- A to-be-closed variable whose __close loops while an error unwinds.
function prepare_jobs(context)
  local x <close> = setmetatable({}, {__close = function() while true do end end})
  error("boom")
end
