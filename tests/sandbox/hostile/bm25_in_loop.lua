-- expect: time limit of 1 s exceeded
-- A fresh chunk array each time defeats the index cache.
function prepare_jobs(context)
  while true do
    local chunks = chunk_by_section(context[2], 3000)
    bm25_top_k("revenue", chunks, 3)
  end
end
