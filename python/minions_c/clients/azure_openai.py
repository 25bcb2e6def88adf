"""The reference's import path, minions.clients.azure_openai."""
from . import AzureOpenAIClient  # noqa: F401
