"""The reference's import path, minions.clients.anthropic."""
from . import AnthropicClient  # noqa: F401
