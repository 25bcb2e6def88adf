-- expect: global 'io'
-- Create a file in the working directory through io.output.
io.output("pwned.txt")
io.write("pwned")
function prepare_jobs(context) return {{task = "t", chunk = "c"}} end
