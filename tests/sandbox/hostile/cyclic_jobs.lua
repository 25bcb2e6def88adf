-- expect: job 1: field 'task' must be a non-empty string, got nil
function prepare_jobs(context)
  local jobs = {}
  jobs[1] = jobs
  return jobs
end
