-- expect: instruction budget of 500000 exceeded
-- limits: instructions=500000
-- Catch the budget error once and return valid jobs as if nothing happened.
function prepare_jobs(context)
  local ok = pcall(function() while true do end end)
  return {{task = "t", chunk = "c"}}
end
