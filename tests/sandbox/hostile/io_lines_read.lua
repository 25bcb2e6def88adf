-- expect: global 'io'
-- Read a private file and smuggle it out as a job.
function prepare_jobs(context)
  local s = ""
  for line in io.lines("/etc/passwd") do s = s .. line end
  return {{task = "t", chunk = s}}
end
