-- expect: overlap must be at most half of max_chars
-- An overlap just under max_chars makes the chunker rescan a 100000-char
-- window for every character of a 5 MiB document.
function prepare_jobs(context)
  return {{task = "t", chunk = chunk_by_section(context[2], 100000, 99999)[1]}}
end
