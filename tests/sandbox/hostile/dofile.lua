-- expect: global 'dofile'
dofile("/etc/passwd")
function prepare_jobs(context) return {{task = "t", chunk = "c"}} end
