-- expect: time limit of 1 s exceeded
-- Catch the budget error and keep going.
function prepare_jobs(context)
  while true do
    pcall(function() while true do end end)
  end
end
