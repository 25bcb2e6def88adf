-- expect: global 'os'
-- os.time/os.clock would leak timing; the os library is absent.
function prepare_jobs(context)
  return {{task = "at " .. os.time(), chunk = "c"}}
end
