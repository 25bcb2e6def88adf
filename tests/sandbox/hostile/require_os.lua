-- expect: global 'require'
local os = require("os")
os.execute("touch /tmp/mn-pwned")
function prepare_jobs(context) return {{task = "t", chunk = "c"}} end
