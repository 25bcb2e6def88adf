"""Token usage, as the Python reference reports it (Usage objects that add)."""


class Usage:
    def __init__(self, prompt_tokens=0, completion_tokens=0, cached_prompt_tokens=0, calls=0,
                 unreported_calls=0):
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens
        self.cached_prompt_tokens = cached_prompt_tokens
        self.calls = calls
        self.unreported_calls = unreported_calls   # calls whose provider sent no counts

    @property
    def seen_prompt_tokens(self):
        return self.prompt_tokens - self.cached_prompt_tokens

    @property
    def total_tokens(self):
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other):
        return Usage(self.prompt_tokens + other.prompt_tokens,
                     self.completion_tokens + other.completion_tokens,
                     self.cached_prompt_tokens + other.cached_prompt_tokens,
                     self.calls + other.calls, self.unreported_calls + other.unreported_calls)

    def to_dict(self):
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "total_tokens": self.total_tokens, "cached_prompt_tokens": self.cached_prompt_tokens,
                "seen_prompt_tokens": self.seen_prompt_tokens, "calls": self.calls,
                "unreported_calls": self.unreported_calls}

    def __eq__(self, other):
        return isinstance(other, Usage) and self.to_dict() == other.to_dict()

    def __repr__(self):
        return "Usage(prompt_tokens=%d, completion_tokens=%d, cached_prompt_tokens=%d)" % (
            self.prompt_tokens, self.completion_tokens, self.cached_prompt_tokens)

    @classmethod
    def _from_c(cls, u):
        return cls(u.prompt_tokens, u.completion_tokens, u.cached_prompt_tokens, u.calls,
                   u.unreported_calls)
