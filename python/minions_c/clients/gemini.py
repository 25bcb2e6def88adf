"""The reference's import path, minions.clients.gemini."""
from . import GeminiClient  # noqa: F401
