"""Model clients with the Python reference's names and arguments. A client
only describes a model (provider, name, sampling, where it runs): the calls
are made by libminions when a protocol runs."""
import os


class MinionsClient:
    provider = None          # the PROVIDER of a "PROVIDER:MODEL" spec
    key_env = None           # where the library reads its key
    url_env = None
    default_model = None

    def __init__(self, model_name=None, api_key=None, temperature=0.0, max_tokens=None,
                 base_url=None, structured_output_schema=None, num_ctx=None, local=None,
                 **kwargs):
        self.model_name = model_name or self.default_model
        if not self.model_name:
            raise ValueError("%s needs a model_name" % type(self).__name__)
        self.api_key = api_key
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.base_url = base_url
        # accepted as the reference takes it (a pydantic model or a dict);
        # libminions asks for its own job-output schema either way
        self.structured_output_schema = structured_output_schema
        self.num_ctx = num_ctx
        self.local = local
        self.extra = kwargs   # the reference's other options, accepted and unused

    def spec(self):
        return "%s:%s" % (self.provider, self.model_name)

    def _export_key(self):
        """An api_key given in code goes where the library reads it."""
        if self.api_key and self.key_env:
            os.environ[self.key_env] = self.api_key

    def __repr__(self):
        return "%s(model_name=%r)" % (type(self).__name__, self.model_name)


class OllamaClient(MinionsClient):
    provider, url_env, default_model = "ollama", "OLLAMA_HOST", "llama3.2"


class OpenAIClient(MinionsClient):
    provider, key_env, url_env, default_model = "openai", "OPENAI_API_KEY", "OPENAI_BASE_URL", "gpt-4o"


class AzureOpenAIClient(MinionsClient):
    provider, key_env, url_env = "azure", "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT"


class AnthropicClient(MinionsClient):
    provider, key_env, default_model = "anthropic", "ANTHROPIC_API_KEY", "claude-sonnet-4-5"


class TogetherClient(MinionsClient):
    provider, key_env = "together", "TOGETHER_API_KEY"


class GeminiClient(MinionsClient):
    provider, key_env, default_model = "gemini", "GEMINI_API_KEY", "gemini-2.5-flash"


class GroqClient(MinionsClient):
    provider, key_env = "groq", "GROQ_API_KEY"


class DeepSeekClient(MinionsClient):
    provider, key_env, default_model = "deepseek", "DEEPSEEK_API_KEY", "deepseek-chat"


class MistralClient(MinionsClient):
    provider, key_env = "mistral", "MISTRAL_API_KEY"


class OpenRouterClient(MinionsClient):
    provider, key_env = "openrouter", "OPENROUTER_API_KEY"


class OpenAICompatibleClient(MinionsClient):
    """Any /v1/chat/completions server: llama.cpp, vLLM, LM Studio, tokasaurus."""
    provider, key_env, url_env = "openai-compatible", "OPENAI_COMPATIBLE_API_KEY", "OPENAI_COMPATIBLE_BASE_URL"


# the reference's other spellings
LlamaCppClient = OpenAICompatibleClient
VLLMClient = OpenAICompatibleClient
TokasaurusClient = OpenAICompatibleClient
LMStudioClient = OpenAICompatibleClient
OpenAICompatible = OpenAICompatibleClient

__all__ = ["MinionsClient", "OllamaClient", "OpenAIClient", "AzureOpenAIClient", "AnthropicClient",
           "TogetherClient", "GeminiClient", "GroqClient", "DeepSeekClient", "MistralClient",
           "OpenRouterClient", "OpenAICompatibleClient", "OpenAICompatible", "LlamaCppClient",
           "VLLMClient", "TokasaurusClient", "LMStudioClient"]
