-- expect: must return an array of jobs
function prepare_jobs(context) return "all of them" end
