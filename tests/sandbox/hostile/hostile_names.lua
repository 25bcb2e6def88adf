-- expect: ??' <- program:6 in function 'prepare_jobs'
-- Control characters and broken UTF-8 in names must not reach the message
-- raw (it goes into JSON for the remote model).
local t = {}
t["\255\n\1"] = function() while true do end end
function prepare_jobs() t["\255\n\1"]() end
