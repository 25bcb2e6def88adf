-- expect: global 'collectgarbage'
-- Could stop the collector (memory) or force finalizers.
collectgarbage("stop")
function prepare_jobs(context) return {{task = "t", chunk = "c"}} end
