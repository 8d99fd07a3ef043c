"""Start-up time of `ghost --help`, against bare Python start-up measured in the same run.

Prints JSON: median seconds for each, their ratio, and which heavy modules got imported.
Usage: python bench/bench_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

HEAVY = ("anthropic", "openai", "langchain_text_splitters", "langchain_core", "tiktoken", "httpx")
CHECK = ("import sys, runpy; sys.argv = ['ghost', '--help']\n"
         "try:\n    runpy.run_module('ghost', run_name='__main__')\n"
         "except SystemExit:\n    pass\n"
         f"print('HEAVY=' + ','.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)")


def timed(cmd: list[str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    python = timed([sys.executable, "-c", "pass"], args.runs)
    ghost_help = timed([sys.executable, "-m", "ghost", "--help"], args.runs)
    summarize_help = timed([sys.executable, "-m", "ghost", "summarize", "--help"], args.runs)
    probe = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True,
                           check=False)
    heavy = [line[6:] for line in probe.stderr.splitlines() if line.startswith("HEAVY=")]
    print(json.dumps({
        "runs": args.runs,
        "python_startup_s": round(python, 4),
        "ghost_help_s": round(ghost_help, 4),
        "ghost_summarize_help_s": round(summarize_help, 4),
        "ghost_help_over_python": round(ghost_help / python, 2),
        "ghost_help_overhead_s": round(ghost_help - python, 4),
        "heavy_modules_imported_by_help": [m for m in (heavy[0].split(",") if heavy else []) if m],
        "goal_s": 0.25,
    }, indent=2))


if __name__ == "__main__":
    main()
