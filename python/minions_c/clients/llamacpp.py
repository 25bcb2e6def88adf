"""The reference's import path, minions.clients.llamacpp."""
from . import LlamaCppClient  # noqa: F401
