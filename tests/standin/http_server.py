"""HTTP/1.1 plumbing of the stand-in: a threading server on its own thread, its open
connections, and its keep-alive request handler."""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from .records import RecordedRequest
from .replies import Reply, StreamReply

logger = logging.getLogger("standin")


class Host(Protocol):
    """What the handler needs from the stand-in that owns the server."""

    def _serve(self, h: StandInHandler, method: str) -> None: ...


class Listener:
    """A StandInServer serving on a daemon thread until `close()`."""

    def __init__(self, host: str, port: int, standin: Host) -> None:
        self.server = StandInServer((host, port), StandInHandler)
        self.server.standin = standin
        self.port: int = self.server.server_address[1]
        self._thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="ghost-standin",
            daemon=True,
        )
        self._thread.start()

    def close(self) -> None:
        """Stop serving, then hang up on the connections still open (keep-alive clients)."""
        self.server.shutdown()
        self.server.server_close()
        for conn in self.server.take_connections():
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=5)


class StandInServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # socketserver's 5 refuses connections a real API would take
    standin: Host

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        super().__init__(*args, **kwargs)

    def track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def take_connections(self) -> list[socket.socket]:
        """The connections still open, forgotten from here on."""
        with self._lock:
            connections = list(self._connections)
            self._connections.clear()
        return connections

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            logger.debug("stand-in: client %s went away: %r", client_address, exc)
            return
        logger.exception("stand-in: error on a connection from %s", client_address)


class StandInHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle's algorithm on, the client's
    # delayed ACK adds ~40 ms to every reply, which would swamp the latency being measured.
    disable_nagle_algorithm = True
    server_version = "ghost-standin/1"
    timeout = 120
    server: StandInServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("stand-in http: " + format, *args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def _dispatch(self, method: str) -> None:
        try:
            self.server.standin._serve(self, method)
        except (ConnectionError, TimeoutError) as exc:
            logger.debug("stand-in: client went away during %s %s: %r", method, self.path, exc)
            self.close_connection = True

    def read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline(65537).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def send(self, reply: Reply) -> None:
        if getattr(reply, "hang_up", False):  # a lost response: the work is done, no reply
            self.close_connection = True
            return
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def send_stream(self, reply: StreamReply, before_last: Callable[[], None], gap: float = 0.0,
                    record: RecordedRequest | None = None) -> None:
        """Send `reply`'s events, `gap` seconds apart; a client that hangs up part-way is
        noted in `record` (hung_up, events_sent) and the connection dropped."""
        self.send_response(200)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        last = len(reply.events) - 1
        if record is not None:
            record.events = len(reply.events)
        for i, event in enumerate(reply.events):
            if i and gap > 0:
                time.sleep(gap)
            if i == last:
                before_last()
            try:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
            except OSError:  # the client closed the stream: stop generating (and billing)
                self.close_connection = True
                if record is not None:
                    record.hung_up = True
                return
            if record is not None:
                record.events_sent = i + 1
        self.wfile.write(b"0\r\n\r\n")
