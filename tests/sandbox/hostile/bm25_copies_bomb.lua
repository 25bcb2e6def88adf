-- expect: for one index
-- Ten thousand references to one 5 MiB document: an index of 50 GB.
function prepare_jobs(context)
  local chunks = {}
  for i = 1, 10000 do chunks[i] = context[2] end
  local top = bm25_top_k("revenue", chunks, 3)
  return {{task = "t", chunk = top[1]}}
end
