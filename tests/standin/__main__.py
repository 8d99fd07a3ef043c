"""`python -m standin --port 8765` (with `tests/` on the path): serve until Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence

from .calls import BILLS
from .replies import DEFAULT_MARKER
from .server import StandIn, logger


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m standin",
        description="Serve a stand-in for the Anthropic and OpenAI APIs until Ctrl-C.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each reply")
    parser.add_argument(
        "--marker", default=DEFAULT_MARKER, help="regex of lines carried into replies"
    )
    parser.add_argument("--cache-min-tokens", type=int, default=1024)
    parser.add_argument("--batch-ready-after", type=float, default=0.0)
    parser.add_argument(
        "--bill", choices=BILLS, default="usage",
        help="max_tokens: bill every reply its request's whole max_tokens (the worst case)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    standin = StandIn(
        host=args.host,
        port=args.port,
        latency=args.latency,
        marker=args.marker,
        cache_min_tokens=args.cache_min_tokens,
        openai_cache_min_tokens=args.cache_min_tokens,
        batch_ready_after=args.batch_ready_after,
        bill=args.bill,
    )
    with standin:
        logger.info("stand-in listening on %s", standin.url)
        logger.info(
            "point ghost at it: %s",
            " ".join(f"{k}={v}" for k, v in standin.env().items()),
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            logger.info("stand-in stopping")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
