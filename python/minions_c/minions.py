"""Minions: the remote model decomposes the task into jobs the local model
runs in parallel over chunks. The reference's signature: Minions(local_client,
remote_client)(task=..., doc_metadata=..., context=[...], max_rounds=2)."""
from . import _run, _lib


class Minions(_run.Protocol):
    def __init__(self, local_client=None, remote_client=None, max_rounds=5, callback=None,
                 **kwargs):
        super().__init__(local_client, remote_client, max_rounds, callback, **kwargs)

    def __call__(self, task, doc_metadata, context, max_rounds=None, num_tasks_per_round=3,
                 num_samples_per_task=1, mcp_tools_info=None, use_bm25=False, log_path=None,
                 cache_path=None, max_cost_usd=None, **kwargs):
        return _run.run("minions", self.local_client, self.remote_client, task, context,
                        doc_metadata=doc_metadata, max_rounds=max_rounds or self.max_rounds,
                        callback=self.callback, on_event=self.on_event, log_path=log_path,
                        log_dir=self.log_dir, cache_path=cache_path, max_cost_usd=max_cost_usd,
                        tasks_per_round=int(num_tasks_per_round),
                        samples=int(num_samples_per_task),
                        retrieval=_lib.RETRIEVAL["bm25"] if use_bm25 else None)
