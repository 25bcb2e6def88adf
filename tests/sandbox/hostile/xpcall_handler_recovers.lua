-- expect: time limit of 1 s exceeded
-- A handler that returns normally and a loop that retries forever.
while true do
  xpcall(function() while true do end end, function(e) return "recovered" end)
end
