-- expect: global 'load'
local fn = load("return io")
fn().open("/tmp/mn-pwned", "w")
function prepare_jobs(context) return {{task = "t", chunk = "c"}} end
