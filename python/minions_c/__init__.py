"""minions_c: the Python reference's API (Minion, Minions, the clients) on
libminions, the C implementation. Change `minions` to `minions_c` in the
imports; the calls and the result dicts stay the same.

    from minions_c.clients.ollama import OllamaClient
    from minions_c.clients.openai import OpenAIClient
    from minions_c.minions import Minions
    out = Minions(OllamaClient(model_name="llama3.2"),
                  OpenAIClient(model_name="gpt-4o"))(task=..., doc_metadata=..., context=[...])
    out["final_answer"], out["remote_usage"], out["log_file"]
"""
from ._lib import MinionsError, version
from .clients import *  # noqa: F401,F403
from .minion import Minion
from .minions import Minions
from .usage import Usage

__version__ = version()
__all__ = ["Minion", "Minions", "MinionsError", "Usage", "version"]
