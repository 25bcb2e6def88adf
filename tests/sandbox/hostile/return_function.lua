-- expect: got a function
function prepare_jobs(context) return prepare_jobs end
