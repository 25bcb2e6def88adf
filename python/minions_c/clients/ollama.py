"""The reference's import path, minions.clients.ollama."""
from . import OllamaClient  # noqa: F401
