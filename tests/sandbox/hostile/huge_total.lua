-- expect: add up to more than 64 MiB
-- The same 3 MB string in many jobs: small in Lua, huge once copied out.
function prepare_jobs(context)
  local s = ("x"):rep(3000000)
  local jobs = {}
  for i = 1, 400 do jobs[i] = {task = "t", chunk = s} end
  return jobs
end
