-- expect: local 'lib'
local lib = rawget(_G, "os") or rawget(_G, "io") or rawget(_G, "package") or rawget(_G, "debug")
lib.execute("touch /tmp/mn-pwned")
function prepare_jobs(context) return {{task = "t", chunk = "c"}} end
