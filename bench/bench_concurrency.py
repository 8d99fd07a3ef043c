"""Map-stage concurrency: wall time of N calls at injected latency, over the ideal ceil(N/C)·L;
and against an account's rate limit, the paced gate beside a fixed 8 in flight (the old way).

The calls go through the real adapter and SDK to the loopback stand-in, exactly as in a run.
Prints JSON. Usage: python bench/bench_concurrency.py [--n 200] [--latency 0.2] [--c 8 16]
                    [--rpm 1800 --rate-n 480 --rate-latency 0.5]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

from ghost.ledger import Ledger
from ghost.models.catalog import load_catalog
from ghost.models.protocol import Message, Request
from ghost.models.runner import Runner, Stage
from ghost.providers import IN_PROCESS, build_model

# the loopback stand-in lives with the tests, outside the ghost package
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from standin import StandIn
from standin.ratelimit import RateLimit


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


def rate_limited(n: int, latency: float, rpm: int, spec: str, *, paced: bool) -> dict[str, Any]:
    """N calls against an account limited to `rpm` requests a minute: the paced gate (a
    cloud endpoint, --concurrency 64 as a ceiling) or a fixed 8 in flight."""
    limit = RateLimit(rpm)
    with StandIn(latency=latency, rate_limit=limit) as server:
        os.environ.update(server.env("bench-key"))
        info = load_catalog().resolve(spec)
        endpoint = "https://api.anthropic.com" if paced else IN_PROCESS  # cloud: paced; fixed
        stage = Stage("map", build_model(info), info, endpoint)
        runner = Runner(Ledger(), None, None, concurrency=64 if paced else 8)
        requests = [Request("Take notes.", (Message.user(f"Chunk {i}: FACT-{i} text."),),
                            max_tokens=256, stage="map") for i in range(n)]
        start = time.perf_counter()
        results = runner.map(stage, requests)
        wall = time.perf_counter() - start
        assert len(results) == n
    # The limit's own floor: the burst the bucket holds goes at once, the rest at its rate.
    ideal = max(0, n - limit.capacity) / limit.per_second + latency
    return {"gate": "paced" if paced else "fixed 8", "n": n, "rpm": rpm, "latency_s": latency,
            "wall_s": round(wall, 2), "ideal_s": round(ideal, 2),
            "wall_over_ideal": round(wall / ideal, 2), "refused_429": limit.refused}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--c", type=int, nargs="+", default=[8])
    parser.add_argument("--rpm", type=int, default=1800)
    parser.add_argument("--rate-n", type=int, default=480)
    parser.add_argument("--rate-latency", type=float, default=0.5)
    args = parser.parse_args()
    rows = [run(args.n, args.latency, c, spec)
            for spec in ("anthropic:claude-haiku-4-5", "openai:gpt-4o-mini") for c in args.c]
    spec = "anthropic:claude-haiku-4-5"
    fixed, paced = (rate_limited(args.rate_n, args.rate_latency, args.rpm, spec, paced=p)
                    for p in (False, True))
    print(json.dumps({"benchmark": "map_concurrency", "results": rows,
                      "rate_limited": [fixed, paced],
                      "fixed_over_paced_wall": round(fixed["wall_s"] / paced["wall_s"], 2)},
                     indent=2))


if __name__ == "__main__":
    main()
