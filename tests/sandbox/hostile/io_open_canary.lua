-- expect: global 'io'
-- Write the canary file through the io library.
local fh = io.open("/tmp/mn-pwned", "w")
fh:write("pwned\n")
fh:close()
function prepare_jobs(context) return {{task = "t", chunk = "c"}} end
