-- expect: job 1: field 'chunk' must be a string, got a table
function prepare_jobs(context)
  local job = {task = "t"}
  job.chunk = job
  return {job}
end
