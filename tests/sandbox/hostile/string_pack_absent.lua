-- expect: field 'unpack'
-- string.pack/unpack are left out with dump: no binary formats needed.
local x = string.unpack("i4", "\0\0\0\1")
function prepare_jobs(context) return {{task = "t", chunk = "c"}} end
