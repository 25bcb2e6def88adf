-- expect: time limit of 1 s exceeded
-- An unanchored lazy match that never succeeds: quadratic in the subject.
function prepare_jobs(context)
  local s = ("a"):rep(1000000)
  return {{task = "t", chunk = s:match(".-x") or "none"}}
end
