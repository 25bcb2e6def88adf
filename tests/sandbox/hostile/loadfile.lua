-- expect: global 'loadfile'
local chunk = loadfile("/etc/passwd")
function prepare_jobs(context) return {{task = "t", chunk = "c"}} end
