-- expect: time limit of 1 s exceeded
-- 2^40 backtracking steps inside one string.find call.
local s = ("a"):rep(40)
local p = ("a?"):rep(40) .. ("a"):rep(40)
print(string.find(s .. "b", p))
function prepare_jobs(context) return {{task = "t", chunk = "c"}} end
