-- expect: global 'io'
-- A new _ENV that falls back to the old one still finds no io.
_ENV = setmetatable({}, {__index = _G})
io.open("/tmp/mn-pwned", "w")
function prepare_jobs(context) return {{task = "t", chunk = "c"}} end
