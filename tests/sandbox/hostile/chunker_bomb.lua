-- expect: chunks from one document
-- One-character chunks of a 5 MiB document: millions of them.
function prepare_jobs(context)
  local chunks = chunk_by_section(context[2], 1)
  return {{task = "t", chunk = chunks[1]}}
end
