"""Prompt-caching simulation: Anthropic's explicit cache_control breakpoints and OpenAI's
automatic prefix cache, as usage numbers. Pure logic; callers serialize access.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from .prompt import Part


@dataclass
class CacheUsage:
    input_tokens: int
    cache_creation: int = 0
    cache_read: int = 0
    creation_1h: int = 0


def _prefix_hashes(model: str, parts: list[Part]) -> list[str]:
    h = hashlib.sha256(model.encode() + b"\x02")
    out = []
    for p in parts:
        h.update(p.key())
        out.append(h.hexdigest())
    return out


class AnthropicPromptCache:
    """Explicit caching: prefixes ending at blocks with cache_control (not thread-safe)."""

    def __init__(self, min_tokens: int = 1024) -> None:
        self.min_tokens = min_tokens
        self._seen: set[str] = set()

    def clear(self) -> None:
        self._seen.clear()

    def account(self, model: str, parts: list[Part]) -> CacheUsage:
        total = sum(p.tokens for p in parts)
        points = [i for i, p in enumerate(parts) if p.cache_control is not None]
        if not points:
            return CacheUsage(total)
        cums: list[int] = []
        running = 0
        for p in parts:
            running += p.tokens
            cums.append(running)
        last = points[-1]
        if cums[last] < self.min_tokens:
            return CacheUsage(total)
        hashes = _prefix_hashes(model, parts[: last + 1])
        read = 0
        for b in reversed(points):
            if hashes[b] in self._seen:
                read = cums[b]
                break
        for b in points:
            if cums[b] >= self.min_tokens:
                self._seen.add(hashes[b])
        creation = cums[last] - read
        cc = parts[last].cache_control or {}
        return CacheUsage(
            input_tokens=total - cums[last],
            cache_creation=creation,
            cache_read=read,
            creation_1h=creation if cc.get("ttl") == "1h" else 0,
        )


def common_prefix_len(a: str, b: str) -> int:
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


class OpenAIPromptCache:
    """Automatic caching: longest previously seen prompt prefix, in 128-token steps."""

    def __init__(self, min_tokens: int = 1024, step: int = 128, fanout: int = 256) -> None:
        self.min_tokens = min_tokens
        self.step = step
        self.fanout = fanout
        # prefix hash (first k parts) -> the distinct (role, text) parts seen right after it
        self._next: dict[str, dict[tuple[str, str], None]] = {}

    def clear(self) -> None:
        self._next.clear()

    def account(self, model: str, parts: list[Part]) -> int:
        h = hashlib.sha256(model.encode() + b"\x02")
        cached = 0
        for p in parts:
            following = self._next.get(h.hexdigest())
            if following is None:
                break
            if (p.role, p.text) in following:
                cached += p.tokens
                h.update(p.key())
                continue
            best = max(
                (common_prefix_len(p.text, text) for role, text in following if role == p.role),
                default=0,
            )
            cached += best // 4
            break
        self._remember(model, parts)
        if cached < self.min_tokens:
            return 0
        return cached // self.step * self.step

    def _remember(self, model: str, parts: list[Part]) -> None:
        h = hashlib.sha256(model.encode() + b"\x02")
        for p in parts:
            following = self._next.setdefault(h.hexdigest(), {})
            if len(following) < self.fanout:
                following[(p.role, p.text)] = None
            h.update(p.key())
        self._next.setdefault(h.hexdigest(), {})
