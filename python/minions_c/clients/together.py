"""The reference's import path, minions.clients.together."""
from . import TogetherClient  # noqa: F401
