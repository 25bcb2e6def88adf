-- expect: over the limit of 4 MiB per string
-- A document longer than the string cap returned as a chunk.
function prepare_jobs(context)
  return {{task = "t", chunk = context[2]}}
end
