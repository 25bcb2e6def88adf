"""ctypes bindings of libminions (include/minions.h): the structs laid out as
the C header declares them, checked against the library's own sizes."""
import ctypes
import ctypes.util
import os

from . import _config

c_char_p, c_int, c_uint, c_long, c_double, c_size_t, c_void_p = (
    ctypes.c_char_p, ctypes.c_int, ctypes.c_uint, ctypes.c_long, ctypes.c_double,
    ctypes.c_size_t, ctypes.c_void_p)
c_uint64 = ctypes.c_uint64

RUN_OPTS_VERSION = 3
PROTOCOLS = {"minion": 0, "minions": 1, "remote-only": 2, "local-only": 3}
RETRIEVAL = {"none": 0, "bm25": 1, "embedding": 2}
EVENT_TYPES = ["run_started", "round_started", "message", "usage", "jobs_progress", "retry",
               "final_answer", "error", "warning"]
ECANCELLED = -8


class Usage(ctypes.Structure):
    _fields_ = [("prompt_tokens", c_uint64), ("completion_tokens", c_uint64),
                ("cached_prompt_tokens", c_uint64), ("calls", c_uint64),
                ("unreported_calls", c_uint64)]


class Timing(ctypes.Structure):
    _fields_ = [("local_call_time", c_double), ("remote_call_time", c_double),
                ("total_time", c_double), ("overhead_time", c_double)]


class Event(ctypes.Structure):
    _fields_ = [("type", c_int), ("round", c_int), ("side", c_int), ("to_model", c_int),
                ("text", c_char_p), ("label", c_char_p), ("jobs_done", c_size_t),
                ("jobs_total", c_size_t), ("usage_local", ctypes.POINTER(Usage)),
                ("usage_remote", ctypes.POINTER(Usage)), ("cost_usd", c_double),
                ("code", c_int)]


EVENT_CB = ctypes.CFUNCTYPE(None, ctypes.POINTER(Event), c_void_p)


class RunOpts(ctypes.Structure):
    _fields_ = [
        ("version", c_uint), ("protocol", c_int),
        ("local_spec", c_char_p), ("remote_spec", c_char_p),
        ("local_urls", ctypes.POINTER(c_char_p)), ("n_local_urls", c_size_t),
        ("remote_url", c_char_p), ("task", c_char_p), ("doc_metadata", c_char_p),
        ("log_path", c_char_p), ("log_dir", c_char_p), ("prices_path", c_char_p),
        ("max_rounds", c_int), ("stream", c_int),
        ("local_temperature", c_double), ("remote_temperature", c_double),
        ("local_max_tokens", c_int), ("remote_max_tokens", c_int),
        ("connect_timeout_ms", c_long), ("request_timeout_ms", c_long),
        ("idle_timeout_ms", c_long), ("max_retries", c_int), ("privacy", c_int),
        ("tasks_per_round", c_int), ("samples", c_int), ("max_jobs", c_int),
        ("local_parallel", c_int), ("decompose", c_int), ("chunking", c_int),
        ("chunk_chars", c_int), ("retrieval", c_int), ("retrieval_k", c_int),
        ("embed_spec", c_char_p), ("embed_url", c_char_p),
        ("on_event", EVENT_CB), ("event_userdata", c_void_p),
        ("num_ctx", c_int),
        # version 3
        ("cache_path", c_char_p), ("max_cost_usd", c_double),
    ]

    def defaults(self):
        """The values of MN_RUN_OPTS_INIT."""
        self.version = RUN_OPTS_VERSION
        self.protocol = PROTOCOLS["minion"]
        self.max_rounds, self.stream = 3, 0
        self.local_temperature = self.remote_temperature = 0.0
        self.local_max_tokens, self.remote_max_tokens = 2048, 4096
        self.connect_timeout_ms, self.request_timeout_ms = 10000, 600000
        self.idle_timeout_ms, self.max_retries = 120000, 4
        self.tasks_per_round, self.samples, self.max_jobs = 3, 1, 2048
        self.local_parallel, self.chunk_chars, self.retrieval_k = 8, 3000, 10
        return self


class MinionsError(RuntimeError):
    """A run failed: the library's one-line message, and its error code."""

    def __init__(self, message, code=None):
        super().__init__(message)
        self.code = code


def _candidates():
    env = os.environ.get("MINIONS_LIB")
    if env:
        yield env
    here = os.path.dirname(os.path.abspath(__file__))
    yield os.path.join(here, "..", "..", "build", "libminions.so")   # the source tree
    if _config.LIBDIR:
        yield os.path.join(_config.LIBDIR, "libminions.so")         # cmake --install
    found = ctypes.util.find_library("minions")
    if found:
        yield found
    for d in ("/usr/local/lib", "/usr/lib"):
        yield os.path.join(d, "libminions.so")


def _load():
    tried = []
    for path in _candidates():
        if path in tried:
            continue
        tried.append(path)
        if os.sep in path and not os.path.exists(path):
            continue
        try:
            return ctypes.CDLL(path)
        except OSError:
            continue
    raise ImportError("minions_c: libminions.so not found (tried %s); build it, install it, "
                      "or set MINIONS_LIB=/path/to/libminions.so" % ", ".join(tried))


lib = _load()


def _sig(name, restype, *argtypes):
    fn = getattr(lib, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)


_sig("mn_version", c_char_p)
_sig("mn_global_init", c_int)
_sig("mn_strerror", c_char_p, c_int)
_sig("mn_run_opts_size", c_size_t)
_sig("mn_docs_new", c_int, ctypes.POINTER(c_void_p))
_sig("mn_docs_add_text", c_int, c_void_p, c_char_p, c_char_p, c_size_t)
_sig("mn_docs_add_path", c_int, c_void_p, c_char_p)
_sig("mn_docs_errmsg", c_char_p, c_void_p)
_sig("mn_docs_free", None, c_void_p)
_sig("mn_run_new", c_int, ctypes.POINTER(c_void_p), ctypes.POINTER(RunOpts))
_sig("mn_run_execute", c_int, c_void_p, c_void_p)
_sig("mn_run_cancel", None, c_void_p)
_sig("mn_run_answer", c_char_p, c_void_p)
_sig("mn_run_usage", None, c_void_p, ctypes.POINTER(Usage), ctypes.POINTER(Usage))
_sig("mn_run_cost_usd", c_double, c_void_p)
_sig("mn_run_timing", None, c_void_p, ctypes.POINTER(Timing))
_sig("mn_run_rounds", c_int, c_void_p)
_sig("mn_run_cache_stats", None, c_void_p, ctypes.POINTER(c_uint64), ctypes.POINTER(c_uint64))
_sig("mn_run_log_file", c_char_p, c_void_p)
_sig("mn_run_errmsg", c_char_p, c_void_p)
_sig("mn_run_free", None, c_void_p)

if lib.mn_run_opts_size() != ctypes.sizeof(RunOpts):
    raise ImportError("minions_c: this package lays out mn_run_opts in %d bytes, the library "
                      "in %d: the package and libminions.so are of different versions"
                      % (ctypes.sizeof(RunOpts), lib.mn_run_opts_size()))
if lib.mn_global_init() != 0:
    raise ImportError("minions_c: libminions could not initialise libcurl")


def version():
    return lib.mn_version().decode()
