-- expect: global 'io'
-- Spawn a shell from inside prepare_jobs.
function prepare_jobs(context)
  local p = io.popen("touch /tmp/mn-pwned; id")
  return {{task = p:read("a"), chunk = "c"}}
end
