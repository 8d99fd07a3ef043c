"""Loopback stand-in for the Anthropic and OpenAI model APIs, for tests, benchmarks and
keyless demos. Not part of ghost: it lives with the tests and never ships in the wheel.

Tests drive the real SDKs against it through their base URL::

    with StandIn() as s:
        client = anthropic.Anthropic(api_key="k", base_url=s.anthropic_base_url, max_retries=0)
        openai_client = openai.OpenAI(api_key="k", base_url=s.openai_base_url, max_retries=0)

Replies are deterministic: `STANDIN <8 hex of sha256 of the message text>` then one
`- <line>` per line of the last user message that carries the marker (`FACT-...` by
default), so a fact planted in the input can be followed to the next stage. Scripted
replies (`enqueue`), a `responder` callback, injected faults (`fail_every`, `fail_next`;
`inject` for those below the status: a stream reset, cut or stalled part-way, an error event
after a 200, a truncated or empty body, a hang),
latency, prompt-caching usage, streaming (SSE, events `stream_gap` seconds apart: a client
closing a stream part-way is recorded as `hung_up`) and both batch APIs are simulated;
`StandIn(bill="max_tokens")` bills every reply its request's whole max_tokens (the worst case).

With `tests/` on the path, `python -m standin --port 8765` serves until Ctrl-C.

Modules: `server` (StandIn), `http_server` (sockets and HTTP/1.1), `calls` (model calls),
`anthropic_wire` / `openai_wire` (each API's bodies), `prompt` and `replies` (what both
share), `prompt_cache`, `errors` (error replies, injected faults), `faults` (faults below the
HTTP status), `records`, and
`batches` / `batch_records` (both batch APIs).
"""

from .anthropic_wire import THINKING_TOKENS
from .calls import Responder
from .prompt import count_tokens
from .records import RecordedRequest
from .replies import DEFAULT_MARKER
from .server import StandIn

__all__ = [
    "DEFAULT_MARKER",
    "THINKING_TOKENS",
    "RecordedRequest",
    "Responder",
    "StandIn",
    "count_tokens",
]
