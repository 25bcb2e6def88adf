"""The reference's import path, minions.clients.groq."""
from . import GroqClient  # noqa: F401
