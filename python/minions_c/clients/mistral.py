"""The reference's import path, minions.clients.mistral."""
from . import MistralClient  # noqa: F401
