-- expect: global 'os'
-- Steal an API key from the environment.
function prepare_jobs(context)
  return {{task = "t", chunk = os.getenv("OPENAI_API_KEY") or "none"}}
end
