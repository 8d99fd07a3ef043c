"""Faults below the HTTP status: a stream cut or reset part-way, an error event after a 200,
a truncated or empty JSON body, a connection that hangs. Armed with `StandIn.inject`.

Each fault meets only the model calls it makes sense for (`FAULT_KINDS`): stream faults the
streamed ones, body faults the JSON ones, a hang any. A fault answers after the request was
validated and its reply made, so the request is recorded (status 200) like any other.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .prompt import ANTHROPIC
from .replies import Reply, StreamReply

if TYPE_CHECKING:
    from .http_server import StandInHandler

# kind -> the replies it applies to: "stream", "json" or "any"
FAULT_KINDS = {
    "reset_mid_stream": "stream",  # some events, then a TCP reset (RST)
    "cut_mid_stream": "stream",    # some events, then the socket closes (FIN): incomplete chunks
    "stall_mid_stream": "stream",  # some events, then nothing until a deadline, then a FIN
    "stream_error": "stream",      # some events, then an error event (Anthropic) / chunk (OpenAI)
    "empty_stream": "stream",      # a 200 whose stream holds nothing: llama.cpp's overflow
    "unfinished_stream": "stream",  # some events, then the stream's end (`[DONE]`,
    #                                 message_stop) with no finish reason: llama.cpp interrupted
    "truncated_json": "json",      # 200 with the first half of the JSON body (Content-Length fits)
    "empty_200": "json",           # 200 with an empty body
    "hang": "any",                 # read the request, send nothing until a deadline, hang up
}
ERROR_MESSAGES = {"overloaded_error": "Overloaded", "api_error": "Internal server error",
                  "rate_limit_error": "Rate limited", "invalid_request_error": "Invalid request"}
MAX_HANG_SECONDS = 60.0
# Faults whose stream ends as a whole HTTP reply would (the last chunk sent).
ENDED_STREAMS = frozenset({"stream_error", "empty_stream", "unfinished_stream"})
# The last event of a stream, by provider (OpenAI's, Anthropic's), without what comes before.
STREAM_END = (b"data: [DONE]\n\n",
              b'event: message_stop\ndata: {"type": "message_stop"}\n\n')


@dataclass
class Fault:
    kind: str
    remaining: int
    provider: str | None
    error_type: str = "overloaded_error"
    after_events: int = 3
    hang_seconds: float = 30.0


class Injections:
    """The injected faults armed so far (callers serialize access with their lock)."""

    def __init__(self) -> None:
        self.armed: list[Fault] = []

    def add(self, fault: Fault) -> None:
        if fault.kind not in FAULT_KINDS:
            raise ValueError(f"fault must be one of {', '.join(FAULT_KINDS)}, not {fault.kind!r}")
        if not 0 < fault.hang_seconds <= MAX_HANG_SECONDS:
            raise ValueError(f"hang_seconds must be in (0, {MAX_HANG_SECONDS:g}]")
        if fault.remaining > 0:
            self.armed.append(fault)

    def clear(self) -> None:
        self.armed.clear()

    def take(self, provider: str, stream: bool) -> Fault | None:
        """The fault this model call (of `provider`, streamed or not) meets, if any."""
        for fault in self.armed:
            applies = FAULT_KINDS[fault.kind]
            if fault.provider not in (None, provider):
                continue
            if applies != "any" and (applies == "stream") != stream:
                continue
            fault.remaining -= 1
            if fault.remaining <= 0:
                self.armed.remove(fault)
            return fault
        return None


def error_event(provider: str, error_type: str) -> bytes:
    message = ERROR_MESSAGES.get(error_type, "Error (stand-in)")
    if provider == ANTHROPIC:
        data = {"type": "error", "error": {"type": error_type, "message": message}}
        return f"event: error\ndata: {json.dumps(data)}\n\n".encode()
    data = {"error": {"message": message, "type": error_type, "param": None, "code": None}}
    return f"data: {json.dumps(data)}\n\n".encode()


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def _hang_up(conn: socket.socket, reset: bool) -> None:
    with contextlib.suppress(OSError):
        if reset:  # SO_LINGER 0: close() sends RST instead of FIN
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            conn.shutdown(socket.SHUT_RDWR)
        conn.close()


def send_faulty(h: StandInHandler, provider: str, reply: Reply | StreamReply, fault: Fault,
                stopping: threading.Event, done: Callable[[], None]) -> None:
    """Answer the request on handler `h` with `fault` instead of `reply`."""
    conn = h.connection
    h.close_connection = True
    done()
    if fault.kind == "hang":
        stopping.wait(min(fault.hang_seconds, MAX_HANG_SECONDS))
        _hang_up(conn, reset=False)
        return
    h.send_response(200)
    if isinstance(reply, StreamReply):
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        events = reply.events[: max(0, fault.after_events)] if fault.kind != "empty_stream" else []
        out = b"".join(_chunk(e) for e in events)
        if fault.kind == "stream_error":
            out += _chunk(error_event(provider, fault.error_type))
        if fault.kind == "unfinished_stream":
            out += _chunk(STREAM_END[provider == ANTHROPIC])
        if fault.kind in ENDED_STREAMS:
            out += b"0\r\n\r\n"
        h.wfile.write(out)
        if fault.kind == "stall_mid_stream":
            stopping.wait(min(fault.hang_seconds, MAX_HANG_SECONDS))
        if fault.kind not in ENDED_STREAMS:
            _hang_up(conn, reset=fault.kind == "reset_mid_stream")
        return
    body = b"" if fault.kind == "empty_200" else reply.body[: len(reply.body) // 2]
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)
