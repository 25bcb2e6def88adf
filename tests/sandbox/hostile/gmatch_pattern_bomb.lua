-- expect: time limit of 1 s exceeded
-- Polynomial backtracking (n^4 per start) inside each iterator step.
local s = ("a"):rep(20000)
for w in s:gmatch("a*a*a*a*b") do end
function prepare_jobs(context) return {{task = "t", chunk = "c"}} end
