-- expect: more than the limit of 500
function prepare_jobs(context)
  local jobs = {}
  for i = 1, 5000 do jobs[i] = {task = "t" .. i, chunk = "c"} end
  return jobs
end
