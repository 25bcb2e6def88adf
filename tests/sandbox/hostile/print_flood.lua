-- expect: print output truncated at 4096 bytes
function prepare_jobs(context)
  for i = 1, 1e12 do print(("x"):rep(100), i) end
end
