-- expect: global 'io'
-- An __index on _G cannot conjure the absent libraries.
setmetatable(_G, {__index = function(t, k) return rawget(t, "io") or rawget(t, "_io") end})
io.open("/tmp/mn-pwned", "w")
function prepare_jobs(context) return {{task = "t", chunk = "c"}} end
