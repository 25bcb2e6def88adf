-- expect: job 1: field 'task' must be a non-empty string, got a function
function prepare_jobs(context)
  return {{task = function() return "t" end, chunk = "c"}}
end
