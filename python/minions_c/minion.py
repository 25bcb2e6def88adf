"""Minion: the remote model chats with the local one, which alone reads the
context. The reference's signature: Minion(local_client, remote_client)(task=...,
context=[...], max_rounds=2)."""
from . import _run


class Minion(_run.Protocol):
    def __init__(self, local_client=None, remote_client=None, max_rounds=3, callback=None,
                 **kwargs):
        super().__init__(local_client, remote_client, max_rounds, callback, **kwargs)

    def __call__(self, task, context, max_rounds=None, doc_metadata=None, logging_id=None,
                 is_privacy=False, images=None, log_path=None, cache_path=None,
                 max_cost_usd=None, **kwargs):
        return _run.run("minion", self.local_client, self.remote_client, task, context,
                        doc_metadata=doc_metadata, max_rounds=max_rounds or self.max_rounds,
                        callback=self.callback, on_event=self.on_event, log_path=log_path,
                        log_dir=self.log_dir, privacy=1 if is_privacy else 0,
                        cache_path=cache_path, max_cost_usd=max_cost_usd)
