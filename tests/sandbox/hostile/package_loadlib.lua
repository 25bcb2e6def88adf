-- expect: global 'package'
-- Load libc's system() as a Lua C function.
local system = package.loadlib("libc.so.6", "system")
system("touch /tmp/mn-pwned")
function prepare_jobs(context) return {{task = "t", chunk = "c"}} end
