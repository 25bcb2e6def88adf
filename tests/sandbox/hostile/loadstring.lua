-- expect: global 'loadstring'
loadstring("os.execute('touch /tmp/mn-pwned')")()
function prepare_jobs(context) return {{task = "t", chunk = "c"}} end
