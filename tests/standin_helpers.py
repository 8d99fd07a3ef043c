"""Helpers shared by the stand-in's own tests (test_standin_*.py): SDK clients pointed at a
stand-in, request bodies, and timing checks."""

from __future__ import annotations

import hashlib
import http.client
import json
from typing import Any

import anthropic
import openai

from standin import StandIn

KEY = "test-key"
LONG = "The quick brown fox jumps over the lazy dog. " * 120  # 5400 chars = 1350 tokens


def claude(s: StandIn) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key=KEY, base_url=s.anthropic_base_url, max_retries=0)


def gpt(s: StandIn) -> openai.OpenAI:
    return openai.OpenAI(api_key=KEY, base_url=s.openai_base_url, max_retries=0)


def user(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


def text_of(msg: Any) -> str:
    """The text of a reply with one text block (Message, or a batch result's message)."""
    block = msg.content[0]
    assert isinstance(block, anthropic.types.TextBlock)
    return block.text


def digest(*texts: str) -> str:
    return hashlib.sha256("\n".join(texts).encode()).hexdigest()[:8]


def peak_overlap(records: list[Any]) -> int:
    """The most requests that were in flight at the same moment."""
    edges = sorted(
        [(r.started, 1) for r in records] + [(r.finished, -1) for r in records],
        key=lambda e: (e[0], e[1]),
    )
    peak = live = 0
    for _, step in edges:
        live += step
        peak = max(peak, live)
    return peak


def post_raw(s: StandIn, path: str, body: dict[str, Any], **headers: str) -> tuple[int, Any, bytes]:
    """Plain http.client POST; returns (status, headers, body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
    try:
        conn.request(
            "POST",
            path,
            json.dumps(body),
            {"content-type": "application/json", "authorization": f"Bearer {KEY}", **headers},
        )
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()
