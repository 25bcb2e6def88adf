"""The reference's import path, minions.clients.openrouter."""
from . import OpenRouterClient  # noqa: F401
