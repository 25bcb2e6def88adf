-- expect: time limit of 1 s exceeded
function prepare_jobs(context)
  while true do end
end
