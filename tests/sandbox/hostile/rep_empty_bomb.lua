-- expect: survived: 0
-- Stock string.rep loops n times even when each copy is empty.
local s = string.rep("", 1 << 60) .. ("x"):rep(0) .. (""):rep(1e15, "")
error("survived: " .. #s)
