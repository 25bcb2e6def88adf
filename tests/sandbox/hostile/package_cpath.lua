-- expect: global 'package'
package.cpath = "/tmp/?.so"
package.loaded.os = nil
function prepare_jobs(context) return {{task = "t", chunk = "c"}} end
