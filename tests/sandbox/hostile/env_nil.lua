-- expect: local '_ENV'
local _ENV = nil
return io
