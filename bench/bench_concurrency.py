"""Map-stage concurrency: wall time of N calls at injected latency, over the ideal ceil(N/C)·L.

The calls go through the real adapter and SDK to the loopback stand-in, exactly as in a run.
Prints JSON. Usage: python bench/bench_concurrency.py [--n 200] [--latency 0.2] [--c 8 16]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

from ghost.ledger import Ledger
from ghost.models.catalog import load_catalog
from ghost.models.protocol import Message, Request
from ghost.models.runner import Runner, Stage
from ghost.providers import build_model

# the loopback stand-in lives with the tests, outside the ghost package
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from standin import StandIn


def run(n: int, latency: float, concurrency: int, spec: str) -> dict[str, float]:
    with StandIn(latency=latency) as server:
        os.environ.update(server.env("bench-key"))
        info = load_catalog().resolve(spec)
        stage = Stage("map", build_model(info), info, server.url)
        runner = Runner(Ledger(), None, None, concurrency=concurrency)
        requests = [Request("Take notes.", (Message.user(f"Chunk {i}: FACT-{i} text."),),
                            max_tokens=256, stage="map") for i in range(n)]
        start = time.perf_counter()
        results = runner.map(stage, requests)
        wall = time.perf_counter() - start
        assert len(results) == n and server.calls() == n
    ideal = math.ceil(n / concurrency) * latency
    return {"provider": spec.split(":")[0], "n": n, "latency_s": latency,
            "concurrency": concurrency, "wall_s": round(wall, 3), "ideal_s": round(ideal, 3),
            "wall_over_ideal": round(wall / ideal, 3)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--c", type=int, nargs="+", default=[8])
    args = parser.parse_args()
    rows = [run(args.n, args.latency, c, spec)
            for spec in ("anthropic:claude-haiku-4-5", "openai:gpt-4o-mini") for c in args.c]
    print(json.dumps({"benchmark": "map_concurrency", "results": rows}, indent=2))


if __name__ == "__main__":
    main()
