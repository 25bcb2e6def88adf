"""One protocol run on libminions: options in, a result dict out. The run
happens on a worker thread so that Ctrl-C (KeyboardInterrupt in the main
thread) can cancel it; the library writes the run log either way."""
import ctypes
import json
import os
import threading

from . import _lib
from .usage import Usage


class Protocol:
    """What Minion and Minions share: the reference's constructor."""

    def __init__(self, local_client=None, remote_client=None, max_rounds=3, callback=None,
                 log_dir=None, on_event=None, **kwargs):
        self.local_client = local_client
        self.remote_client = remote_client
        self.max_rounds = max_rounds
        self.callback = callback      # callback(role, message, is_final=False), as the reference
        self.on_event = on_event      # on_event(dict): every library event (a live view)
        self.log_dir = log_dir
        self.kwargs = kwargs          # the reference's other options, accepted and unused


def _b(s):
    return None if s is None else str(s).encode()


def _event_dict(ev):
    e = ev.contents
    d = {"type": _lib.EVENT_TYPES[e.type] if 0 <= e.type < len(_lib.EVENT_TYPES) else e.type,
         "round": e.round, "side": "remote" if e.side == 1 else "local",
         "to_model": bool(e.to_model),
         "text": e.text.decode("utf-8", "replace") if e.text else None,
         "label": e.label.decode() if e.label else None,
         "jobs_done": e.jobs_done, "jobs_total": e.jobs_total,
         "cost_usd": e.cost_usd if e.cost_usd >= 0 else None, "code": e.code}
    if e.usage_local:
        d["usage_local"] = Usage._from_c(e.usage_local.contents).to_dict()
    if e.usage_remote:
        d["usage_remote"] = Usage._from_c(e.usage_remote.contents).to_dict()
    return d


def _messages(log, who):
    """A side's turns of the run log as chat messages (prompt, then reply)."""
    out = []
    for turn in log.get("conversation", []):
        if turn.get("user") != who:
            continue
        if turn.get("prompt") is not None:
            out.append({"role": "user", "content": turn["prompt"]})
        if turn.get("output") is not None:
            out.append({"role": "assistant", "content": turn["output"]})
    return out


def run(protocol, local, remote, task, context, doc_metadata=None, max_rounds=None,
        callback=None, on_event=None, log_path=None, log_dir=None, cache_path=None,
        max_cost_usd=None, **opts):
    """cache_path: response cache file (SQLite, made if missing): a request
    identical to one already answered is answered from it without a call.
    max_cost_usd: remote spend cap; a call that could pass it is not made and
    MinionsError is raised (code -9). Needs the remote model's price."""
    o = _lib.RunOpts().defaults()
    keep = []   # the bytes the options point to, alive until the run ends

    def s(v):
        b = _b(v)
        keep.append(b)
        return b

    o.protocol = _lib.PROTOCOLS[protocol]
    o.task = s(task)
    o.doc_metadata = s(doc_metadata)
    o.log_path = s(log_path)
    o.log_dir = s(log_dir)
    o.cache_path = s(cache_path)
    if max_cost_usd is not None:
        o.max_cost_usd = float(max_cost_usd)
    if max_rounds:
        o.max_rounds = int(max_rounds)
    if local is not None:
        local._export_key()
        o.local_spec = s(local.spec())
        o.local_temperature = float(local.temperature or 0.0)
        if local.max_tokens:
            o.local_max_tokens = int(local.max_tokens)
        if local.num_ctx:
            o.num_ctx = int(local.num_ctx)
        if local.base_url:
            urls = (ctypes.c_char_p * 1)(s(local.base_url))
            keep.append(urls)
            o.local_urls = urls
            o.n_local_urls = 1
    if remote is not None:
        remote._export_key()
        o.remote_spec = s(remote.spec())
        o.remote_temperature = float(remote.temperature or 0.0)
        if remote.max_tokens:
            o.remote_max_tokens = int(remote.max_tokens)
        o.remote_url = s(remote.base_url)
    for k, v in opts.items():
        if v is not None:
            setattr(o, k, v)

    def relay(ev, _ud):
        d = _event_dict(ev)
        if on_event:
            on_event(d)
        if callback and d["type"] == "message":
            role = "supervisor" if d["side"] == "remote" else "worker"
            callback(role, {"role": "user" if d["to_model"] else "assistant",
                            "content": d["text"]}, is_final=False)
        if callback and d["type"] == "final_answer":
            callback("supervisor", {"role": "assistant", "content": d["text"]}, is_final=True)

    cb = _lib.EVENT_CB(relay)
    o.on_event = cb

    docs = ctypes.c_void_p()
    run_h = ctypes.c_void_p()
    try:
        if _lib.lib.mn_docs_new(ctypes.byref(docs)) != 0:
            raise MemoryError("minions_c: cannot create a document set")
        for i, text in enumerate(context or []):
            data = str(text).encode("utf-8", "surrogatepass")
            name = _b("text %d" % (i + 1))   # as the CLI names --context-text
            if _lib.lib.mn_docs_add_text(docs, name, data, len(data)) != 0:
                raise _lib.MinionsError(_lib.lib.mn_docs_errmsg(docs).decode())
        rc = _lib.lib.mn_run_new(ctypes.byref(run_h), ctypes.byref(o))
        if rc != 0:
            raise _lib.MinionsError(_lib.lib.mn_run_errmsg(run_h).decode(), rc)
        result = []
        finished = threading.Event()   # not Thread.join: an interrupted join can
                                       # report a running thread as stopped

        def execute():
            try:
                result.append(_lib.lib.mn_run_execute(run_h, docs))
            finally:
                finished.set()
        threading.Thread(target=execute, name="minions-run", daemon=True).start()
        try:
            while not finished.wait(0.1):
                pass
        except KeyboardInterrupt:
            _lib.lib.mn_run_cancel(run_h)   # the library stops soon and writes its log
            while True:   # the run handle is freed below: wait for the run to end
                try:
                    finished.wait()
                    break
                except KeyboardInterrupt:
                    continue
            raise
        rc = result[0]
        if rc != 0:
            raise _lib.MinionsError(_lib.lib.mn_run_errmsg(run_h).decode(), rc)
        return _result(run_h, cache_path is not None)
    finally:
        if run_h:
            _lib.lib.mn_run_free(run_h)
        if docs:
            _lib.lib.mn_docs_free(docs)


def _result(run_h, cached=False):
    lib = _lib.lib
    r, l = _lib.Usage(), _lib.Usage()
    lib.mn_run_usage(run_h, ctypes.byref(r), ctypes.byref(l))
    t = _lib.Timing()
    lib.mn_run_timing(run_h, ctypes.byref(t))
    log_file = lib.mn_run_log_file(run_h)
    log_file = log_file.decode() if log_file else None
    log = {}
    if log_file and os.path.exists(log_file):
        with open(log_file, encoding="utf-8") as f:
            log = json.load(f)
    cost = lib.mn_run_cost_usd(run_h)
    meta = [{"local": {"jobs": [dict(m, output=o) for m, o in
                                zip(turn.get("job_manifests", []), turn.get("job_outputs", []))]}}
            for turn in log.get("conversation", []) if "job_manifests" in turn]
    answer = lib.mn_run_answer(run_h)
    hits, misses = _lib.c_uint64(), _lib.c_uint64()
    lib.mn_run_cache_stats(run_h, ctypes.byref(hits), ctypes.byref(misses))
    extra = {"cache": {"hits": hits.value, "misses": misses.value}} if cached else {}
    return dict(extra, **{
        "final_answer": answer.decode() if answer else None,
        "supervisor_messages": _messages(log, "remote"),
        "worker_messages": _messages(log, "local"),
        "remote_usage": Usage._from_c(r),
        "local_usage": Usage._from_c(l),
        "cost_usd": cost if cost >= 0 else None,
        "timing": {"local_call_time": t.local_call_time, "remote_call_time": t.remote_call_time,
                   "total_time": t.total_time, "overhead_time": t.overhead_time},
        "rounds": lib.mn_run_rounds(run_h),
        "log_file": log_file,
        "meta": meta,
    })
