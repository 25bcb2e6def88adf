-- expect: global 'os'
-- Delete or move files.
os.rename("/tmp/mn-pwned-src", "/tmp/mn-pwned")
os.remove("important.txt")
function prepare_jobs(context) return {{task = "t", chunk = "c"}} end
