-- expect: global 'debug'
-- Remove the instruction-count hook, then loop forever.
debug.sethook()
while true do end
function prepare_jobs(context) return {{task = "t", chunk = "c"}} end
