-- expect: time limit of 1 s exceeded
-- Hit the memory cap again and again, catching it each time.
function prepare_jobs(context)
  while true do
    pcall(function() local t = {} for i = 1, 1e12 do t[i] = i end end)
  end
end
