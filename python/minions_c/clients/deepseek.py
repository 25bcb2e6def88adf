"""The reference's import path, minions.clients.deepseek."""
from . import DeepSeekClient  # noqa: F401
