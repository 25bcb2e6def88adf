-- expect: got nil
function prepare_jobs(context) end
