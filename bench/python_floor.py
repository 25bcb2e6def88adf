#!/usr/bin/python3
"""A floor under the Python reference's CPU per local job.

    bench/python_floor.py --fakellm PATH --texts FILE... [--chunk-chars N]
                          [--runs N] [--ours US_PER_JOB]

The Python reference cannot be installed here (it needs PyPI packages:
pydantic 2, ollama, openai, rank_bm25), so this measures the least any
Python client of that shape spends per MinionS job on the same run as
bench_orchestration: the same filings cut the same way (slices of N
characters), one job per slice with the same task and advice, each job a
prompt formatted in Python, a JSON request sent over a keep-alive
connection with httpx (the HTTP library under both the openai and the
ollama SDKs; http.client when httpx is missing), the reply decoded and its
JSON answer validated with a pydantic model (json.loads alone without
pydantic). The reference does all of this and more per job (SDK request and
response models, retries, usage objects, logging, an asyncio or thread pool
for the batch), so its CPU per job can only be higher. CPU is this
process's user + system time for the chunking and the job loop; the fake
server runs in another process, as for bench_orchestration.

With --ours, prints a "summary:" line comparing bench_orchestration's CPU
per job with this floor (target: at most a quarter of it).
"""
import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time

TASK = "Quote the capex figure for the last fiscal year, if this excerpt gives it."
ADVICE = "Look in the cash flow statement: purchases of property, plant and equipment."
# A worker prompt of the usual shape: instructions, the excerpt, the task,
# the advice, the answer format.
PROMPT = (
    "You are reading one excerpt of a longer document for a colleague who "
    "cannot see it.\n\n### Excerpt\n{chunk}\n\n### Task\n{task}\n\n"
    "### Advice\n{advice}\n\nAnswer only from the excerpt. Reply with one JSON "
    "object with the keys \"explanation\" (how you found it), \"citation\" "
    "(the exact words of the excerpt that support the answer, or null) and "
    "\"answer\" (the answer, or null when the excerpt does not give it).")


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def start_fake(fakellm, script):
    p = subprocess.Popen([fakellm, "--port", "0", "--script", script, "--slots", "64",
                          "--service-ms", "0"], stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    m = re.search(r"(\d+)", line)
    if not m:
        p.kill()
        sys.exit("python_floor: fakellm printed no port: %r" % line)
    return p, int(m.group(1))


def nodelay_transport(httpx):
    """httpx with TCP_NODELAY, as current httpcore sets it: without it each
    request waits ~40 ms for a delayed ACK (wall time only, not CPU)."""
    import socket
    try:
        import httpcore
        from httpcore.backends.sync import SyncBackend
    except ImportError:
        return None

    class NoDelay(SyncBackend):
        def connect_tcp(self, *args, **kwargs):
            stream = super().connect_tcp(*args, **kwargs)
            stream._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return stream
    t = httpx.HTTPTransport()
    t._pool = httpcore.ConnectionPool(network_backend=NoDelay())
    return t


def make_client(port):
    url = "http://127.0.0.1:%d/v1/chat/completions" % port
    try:
        import httpx
        client = httpx.Client(timeout=60, transport=nodelay_transport(httpx))
        return "httpx %s" % httpx.__version__, lambda body: client.post(
            url, content=body, headers={"Content-Type": "application/json"}).content
    except ImportError:
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

        def post(body):
            conn.request("POST", "/v1/chat/completions", body,
                         {"Content-Type": "application/json"})
            return conn.getresponse().read()
        return "http.client", post


def make_validator():
    try:
        import pydantic

        class JobOutput(pydantic.BaseModel):
            explanation: str
            citation: str = None
            answer: str = None
        return "pydantic %s" % pydantic.VERSION, lambda text: JobOutput.parse_raw(text)
    except ImportError:
        return "json", json.loads


def one_run(docs, chunk_chars, post, validate):
    """Cut, then one request per slice: (jobs, answered, CPU s, wall s)."""
    c0, w0 = cpu_seconds(), time.monotonic()
    chunks = [d[i:i + chunk_chars] for d in docs for i in range(0, len(d), chunk_chars)]
    answered = 0
    for chunk in chunks:
        msgs = [{"role": "user", "content": PROMPT.format(chunk=chunk, task=TASK, advice=ADVICE)}]
        body = json.dumps({"model": "fake", "messages": msgs, "temperature": 0.0,
                           "max_tokens": 1024, "response_format": {"type": "json_object"}})
        reply = json.loads(post(body))
        out = validate(reply["choices"][0]["message"]["content"])
        answer = out.get("answer") if isinstance(out, dict) else out.answer
        answered += answer is not None
    return len(chunks), answered, cpu_seconds() - c0, time.monotonic() - w0


def main():
    ap = argparse.ArgumentParser(description="CPU floor of a Python MinionS worker loop")
    ap.add_argument("--fakellm", required=True)
    ap.add_argument("--texts", nargs="+", required=True)
    ap.add_argument("--chunk-chars", type=int, default=3000)
    ap.add_argument("--ours", type=float, help="bench_orchestration's CPU per job, us")
    ap.add_argument("--runs", type=int, default=3, help="median of this many runs")
    a = ap.parse_args()

    script = os.path.join(os.environ.get("TMPDIR", "/tmp"), "mn-python-floor-%d.json" % os.getpid())
    with open(script, "w") as f:
        f.write('{"extract": "[Cc]apital expenditures?"}\n')
    fake, port = start_fake(a.fakellm, script)
    try:
        http_name, post = make_client(port)
        check_name, validate = make_validator()
        docs = [open(p, encoding="utf-8", errors="replace").read() for p in a.texts]
        runs = [one_run(docs, a.chunk_chars, post, validate) for _ in range(max(1, a.runs))]
    finally:
        fake.kill()
        fake.wait()
        os.unlink(script)
    for k, (jobs, answered, cpu, wall) in enumerate(runs):
        print("run %d: %d jobs, %d answered, CPU %.2f s, wall %.2f s, %.1f us per job"
              % (k + 1, jobs, answered, cpu, wall, cpu / jobs * 1e6))
    us = sorted(cpu / jobs * 1e6 for jobs, _, cpu, _ in runs)[len(runs) // 2]
    print("Python floor (%s, %s): median %.1f us per job over %d run%s"
          % (http_name, check_name, us, len(runs), "" if len(runs) == 1 else "s"))
    if a.ours:
        ratio = a.ours / us
        print("summary: orchestration CPU per job against the Python floor (%.1f / %.1f us)\t"
              "%.3f\t<= 0.25\t%s" % (a.ours, us, ratio, "met" if ratio <= 0.25 else "MISSED"))


if __name__ == "__main__":
    main()
