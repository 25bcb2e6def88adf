"""The Python package (python/minions_c) run as the Python reference's
README runs it: the medical-report examples with Minion and with Minions,
OllamaClient and OpenAIClient, against fake servers; the planted facts come
back, and the usage and cost equal the C CLI's for the same run. Also:
events as a callback, the library's message in exceptions, Ctrl-C, and
`pip install ./python` offline in a venv.

Run by ctest with Debian's python3 (MN_FAKELLM, MN_BIN, MN_SOURCE_DIR set)."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

SRC = os.environ["MN_SOURCE_DIR"]
FAKELLM = os.environ["MN_FAKELLM"]
CLI = os.environ["MN_BIN"]
LIB = os.path.abspath(os.path.join(os.path.dirname(CLI), "libminions.so"))
os.environ["MINIONS_LIB"] = LIB
sys.path.insert(0, os.path.join(SRC, "python"))
TMP = tempfile.mkdtemp(prefix="mn-py-")
os.environ["MINIONS_LOG_DIR"] = os.path.join(TMP, "logs")

passed = failed = 0


def check(what, ok):
    global passed, failed
    if ok:
        passed += 1
        print("ok   " + what)
    else:
        failed += 1
        print("FAIL " + what)


def start_fake(script, *extra):
    path = os.path.join(TMP, "script-%d.json" % len(FAKES))
    with open(path, "w") as f:
        json.dump(script, f)
    p = subprocess.Popen([FAKELLM, "--port", "0", "--script", path, *extra],
                         stdout=subprocess.PIPE, text=True)
    port = int(p.stdout.readline().split()[1])
    FAKES.append(p)
    return "http://127.0.0.1:%d" % port


FAKES = []
FINAL = {"decision": "provide_final_answer", "answer": "BP {{match}}: elevated risk.", "message": None}
MINIONS_FINAL = {"decision": "provide_final_answer", "explanation": "quoted",
                 "answer": "BP {{match}}: elevated risk.", "feedback": None, "scratchpad": "done"}
JOBS = ("```lua\nfunction prepare_jobs(context, prev_jobs)\n  local jobs = {}\n"
        "  for _, doc in ipairs(context) do\n    for _, chunk in ipairs(chunk_by_section(doc, 3000, 0)) do\n"
        "      jobs[#jobs + 1] = { chunk = chunk, task = 'Quote the blood pressure and the LDL.', advice = '' }\n"
        "    end\n  end\n  return jobs\nend\n```")
REMOTE = {"extract": "[0-9]+/[0-9]+ mmHg", "rules": [
    {"when": {"last_contains": "Write your first message to the worker"},
     "reply": json.dumps({"reasoning": "I need the readings.",
                          "message": "What are the blood pressure and the LDL cholesterol readings?"})},
    {"when": {"last_contains": "Think step by step about this reply"}, "reply": "The worker quoted them."},
    {"when": {"last_contains": "Now decide"}, "reply": json.dumps(FINAL)},
    {"when": {"last_contains": "This was the last exchange"}, "reply": json.dumps(FINAL)},
    {"when": {"last_contains": "write short advice"}, "reply": "Look for the readings."},
    {"when": {"contains": "prepare_jobs"}, "reply": JOBS},
    {"when": {"last_contains": "Think step by step: which findings"}, "reply": "One job quotes them."},
    {"when": {"last_contains": "This was the last round"}, "reply": json.dumps(MINIONS_FINAL)},
]}
REMOTE_URL = start_fake(REMOTE)
LOCAL_URL = start_fake({"extract": "[0-9]+/[0-9]+ mmHg"})
# OpenAIClient(model_name="gpt-4o") and OllamaClient(model_name="llama3.2"), as
# in the README: only the environment says where they are
os.environ.update(OPENAI_API_KEY="sk-test-not-a-real-key-000000", OPENAI_BASE_URL=REMOTE_URL,
                  OLLAMA_HOST=LOCAL_URL.replace("http://", ""))

import minions_c  # noqa: E402
from minions_c.clients.ollama import OllamaClient  # noqa: E402
from minions_c.clients.openai import OpenAIClient  # noqa: E402
from minions_c.minion import Minion  # noqa: E402
from minions_c.minions import Minions  # noqa: E402

context = """
Patient John Doe is a 60-year-old male with a history of hypertension. In his latest checkup, his blood pressure was recorded at 160/100 mmHg, and he reported occasional chest discomfort during physical activity.
Recent laboratory results show that his LDL cholesterol level is elevated at 170 mg/dL, while his HDL remains within the normal range at 45 mg/dL. Other metabolic indicators, including fasting glucose and renal function, are unremarkable.
"""
task = "Based on the patient's blood pressure and LDL cholesterol readings in the context, evaluate whether these factors together suggest an increased risk for cardiovascular complications."


def cli(protocol, **extra):
    """The same run through the C CLI (--json)."""
    args = [CLI, "run", "--protocol", protocol, "--local", "ollama:llama3.2", "--remote",
            "openai:gpt-4o", "--task", task, "--context-text", context,
            "--max-rounds", "2", "--json", "-q"]
    for k, v in extra.items():
        args += ["--" + k.replace("_", "-"), str(v)]
    out = subprocess.run(args, capture_output=True, text=True, timeout=120)
    return json.loads(out.stdout)


# --- README example 1: Minion --------------------------------------------------------
local_client = OllamaClient(model_name="llama3.2")
remote_client = OpenAIClient(model_name="gpt-4o")
minion = Minion(local_client, remote_client)
seen = []
minion.callback = lambda role, message, is_final=False: seen.append((role, is_final))
output = minion(task=task, context=[context], max_rounds=2)
check("Minion: the answer carries the planted reading", "160/100 mmHg" in output["final_answer"])
check("Minion: the reference's result keys",
      all(k in output for k in ("final_answer", "supervisor_messages", "worker_messages",
                                "remote_usage", "local_usage", "log_file", "timing")))
check("Minion: supervisor and worker messages from the run log",
      output["supervisor_messages"][0]["role"] == "user" and len(output["worker_messages"]) >= 2
      and "160/100" in " ".join(m["content"] for m in output["worker_messages"]))
check("Minion: the callback saw supervisor and worker turns and the final answer",
      ("supervisor", False) in seen and ("worker", False) in seen and ("supervisor", True) in seen)
c = cli("minion")
check("Minion: usage equals the C CLI's for the same run",
      output["remote_usage"].to_dict()["prompt_tokens"] == c["usage"]["remote"]["prompt_tokens"]
      and output["remote_usage"].completion_tokens == c["usage"]["remote"]["completion_tokens"]
      and output["local_usage"].prompt_tokens == c["usage"]["local"]["prompt_tokens"]
      and output["local_usage"].completion_tokens == c["usage"]["local"]["completion_tokens"])
check("Minion: cost equals the C CLI's (gpt-4o prices)",
      output["cost_usd"] is not None and abs(output["cost_usd"] - c["cost_usd"]) < 1e-12)

# --- README example 2: Minions, with a structured output schema ------------------------
try:
    from pydantic import BaseModel

    class StructuredLocalOutput(BaseModel):
        explanation: str
        citation: str | None
        answer: str | None
    schema = StructuredLocalOutput
except Exception:   # pydantic is the reference's; ours accepts any schema object
    schema = {"type": "object"}
local_client = OllamaClient(model_name="llama3.2", temperature=0.0, structured_output_schema=schema)
remote_client = OpenAIClient(model_name="gpt-4o")
minion = Minions(local_client, remote_client)
events = []
minion.on_event = events.append
output = minion(task=task, doc_metadata="Medical Report", context=[context], max_rounds=2)
check("Minions: the answer carries the planted reading", "160/100 mmHg" in output["final_answer"])
check("Minions: jobs and their outputs in meta",
      any("160/100" in json.dumps(r["local"]["jobs"]) for r in output["meta"]))
check("Minions: events reached the Python callback (jobs progress, usage, final answer)",
      {"jobs_progress", "usage", "final_answer"} <= {e["type"] for e in events})
c = cli("minions", doc_metadata="Medical Report")
print("   python remote %s local %s cost %s | cli %s %s" % (output["remote_usage"].to_dict(),
      output["local_usage"].to_dict(), output["cost_usd"], c["usage"], c["cost_usd"]))
check("Minions: usage and cost equal the C CLI's",
      output["remote_usage"].prompt_tokens == c["usage"]["remote"]["prompt_tokens"]
      and output["local_usage"].prompt_tokens == c["usage"]["local"]["prompt_tokens"]
      and abs(output["cost_usd"] - c["cost_usd"]) < 1e-12)

# --- the response cache and the spend cap -------------------------------------------------
import urllib.request  # noqa: E402


def served(url):
    with urllib.request.urlopen(url + "/_fake/stats", timeout=10) as r:
        return json.load(r)["requests"]


cache = os.path.join(TMP, "cache.sqlite")
first = minion(task=task, doc_metadata="Medical Report", context=[context], max_rounds=2,
               cache_path=cache)
before = (served(REMOTE_URL), served(LOCAL_URL))
again = minion(task=task, doc_metadata="Medical Report", context=[context], max_rounds=2,
               cache_path=cache)
check("cache_path: the same Minions call again sends no request to either server",
      (served(REMOTE_URL), served(LOCAL_URL)) == before)
check("cache_path: ... with the same answer, usage and cost, every call a hit",
      again["final_answer"] == first["final_answer"]
      and again["remote_usage"].to_dict() == first["remote_usage"].to_dict()
      and again["local_usage"].to_dict() == first["local_usage"].to_dict()
      and again["cost_usd"] == first["cost_usd"]
      and first["cache"]["hits"] == 0 and again["cache"]["misses"] == 0
      and again["cache"]["hits"] == first["cache"]["misses"] > 0)
try:
    minion(task=task + " Again.", doc_metadata="Medical Report", context=[context],
           max_rounds=2, max_cost_usd=0.000001)
    check("max_cost_usd below a call's estimate raises MinionsError", False)
except minions_c.MinionsError as e:
    check("max_cost_usd below a call's estimate raises MinionsError (ELIMIT, one line naming the cap)",
          e.code == -9 and "spend cap of $1e-06" in str(e) and "\n" not in str(e))
ok = minion(task=task, doc_metadata="Medical Report", context=[context], max_rounds=2,
            max_cost_usd=5.0)
check("a generous max_cost_usd runs as without one", ok["final_answer"] == first["final_answer"])
try:
    minion(task=task, doc_metadata="Medical Report", context=[context], max_cost_usd=-1)
    check("a negative max_cost_usd is refused", False)
except minions_c.MinionsError as e:
    check("a negative max_cost_usd is refused (EINVAL)", e.code == -1)

# Callers built against older headers: a version 2 struct ends after num_ctx, a
# version 1 struct before it; what lies beyond is not theirs (0xff here) and is
# not read
import ctypes  # noqa: E402
from minions_c import _lib  # noqa: E402
for version, fields in ((2, _lib.RunOpts._fields_[:-2]), (1, _lib.RunOpts._fields_[:-3])):
    old = type("RunOptsV%d" % version, (ctypes.Structure,), {"_fields_": fields})
    full = _lib.RunOpts().defaults()
    full.protocol = _lib.PROTOCOLS["remote-only"]
    full.task, full.remote_spec = b"x", b"openai:gpt-4o"
    buf = ctypes.create_string_buffer(b"\xff" * ctypes.sizeof(_lib.RunOpts))
    ctypes.memmove(buf, ctypes.byref(full), ctypes.sizeof(old))
    ctypes.cast(buf, ctypes.POINTER(_lib.RunOpts)).contents.version = version
    h = ctypes.c_void_p()
    rc = _lib.lib.mn_run_new(ctypes.byref(h), ctypes.cast(buf, ctypes.POINTER(_lib.RunOpts)))
    msg = _lib.lib.mn_run_errmsg(h).decode()
    _lib.lib.mn_run_free(h)
    check("a version %d options struct (%d bytes) is read as far as it goes: %s"
          % (version, ctypes.sizeof(old), msg or "ok"), rc == 0)

# --- errors and Ctrl-C -------------------------------------------------------------------
try:
    Minion(OllamaClient(model_name="llama3.2"), OpenAIClient(model_name="gpt-4o",
           base_url="http://127.0.0.1:9"))(task=task, context=[context], max_rounds=1)
    check("a failed run raises MinionsError", False)
except minions_c.MinionsError as e:
    check("a failed run raises MinionsError with the library's one-line message",
          "127.0.0.1:9" in str(e) or "connect" in str(e) and "\n" not in str(e))

SLOW = start_fake({"extract": "[0-9]+/[0-9]+ mmHg"}, "--service-ms", "3000")
threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
t0 = time.time()
try:
    Minion(OllamaClient(model_name="llama3.2", base_url=SLOW), OpenAIClient(model_name="gpt-4o"))(
        task=task, context=[context], max_rounds=2)
    check("Ctrl-C cancels the run", False)
except KeyboardInterrupt:
    check("Ctrl-C cancels the run (KeyboardInterrupt, soon)", time.time() - t0 < 2.9)

# --- pip install ./python, offline, in a venv --------------------------------------------
venv = os.path.join(TMP, "venv")
r = subprocess.run([sys.executable, "-m", "venv", venv], capture_output=True, text=True)
if r.returncode == 0:
    pip = subprocess.run([os.path.join(venv, "bin", "pip"), "install", "--no-index", "--no-cache-dir",
                          os.path.join(SRC, "python")], capture_output=True, text=True, timeout=300)
    check("pip install ./python works offline (--no-index)", pip.returncode == 0)
    if pip.returncode:
        print(pip.stdout[-2000:], pip.stderr[-2000:])
    imp = subprocess.run([os.path.join(venv, "bin", "python"), "-c",
                          "import minions_c, sys; print(minions_c.__file__, minions_c.__version__)"],
                         capture_output=True, text=True, cwd=TMP)
    check("the installed package imports from the venv",
          imp.returncode == 0 and venv in imp.stdout)
    if imp.returncode or venv not in imp.stdout:
        print(imp.stdout, imp.stderr[-2000:])
else:
    check("python3 -m venv works (Debian package python3-venv)", False)
    print(r.stderr)

for p in FAKES:
    p.terminate()
    p.wait()
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
