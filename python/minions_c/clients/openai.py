"""The reference's import path, minions.clients.openai."""
from . import OpenAIClient  # noqa: F401
