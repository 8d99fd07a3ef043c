"""Benchmark: ghost mail ingest + index vs plain `mailbox.mbox` iteration. Prints JSON.

    python bench/bench_mail.py                 # ~1 GB: the r-devel archive 12 times
    python bench/bench_mail.py --copies 2      # quicker

Builds the big mbox in a temp folder (deleted afterwards unless --keep), then runs each
side in its own subprocess so peak RSS is measured separately:
  baseline: `for msg in mailbox.mbox(path)`, decoding every part's payload;
  ghost:    MailIndex.add(path): read, MIME-decode, clean, dedupe, thread, FTS-index.
The copies share Message-IDs: copies 2..N are read and fully parsed like the first, but
then dropped as duplicates, so they cost no indexing. `first_copy_seconds` shows the
first copy alone (all unique, all indexed).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GHOST_SHARED_DIR", REPO.parent / "shared"))
DEFAULT_SOURCE = SHARED / "data" / "mail" / "r-devel-2005-2012.mbox"
QUERIES = [
    "lazy loading",
    'from:ripley "R CMD check"',
    "subject:bug -from:ripley after:2010/01/01",
    "{namespace imports} before:2008/01/01",
    '"memory leak" OR segfault',
    "after:2012/06/01 before:2012/07/01",
    "matrix -sparse newer_than:30y",
]


def _rss_mb(kb: int) -> float:
    return round(kb / 1024, 1)  # ru_maxrss is in KiB on Linux


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return round(usage.ru_utime + usage.ru_stime, 2)


def build(source: Path, copies: int, folder: Path) -> Path:
    target = folder / "bench.mbox"
    with open(target, "wb") as out:
        for _ in range(copies):
            with open(source, "rb") as src:
                shutil.copyfileobj(src, out, 16 * 1024 * 1024)
            out.write(b"\n")
    return target


def run_baseline(path: str) -> dict:
    import mailbox

    started = time.perf_counter()
    cpu = time.process_time()
    messages = payload = 0
    for msg in mailbox.mbox(path):
        for part in msg.walk():
            data = part.get_payload(decode=True)
            if data:
                payload += len(data)
        messages += 1
    return {"seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu,
            "messages": messages, "payload_bytes": payload}


def run_ghost(path: str, index_dir: str, workers: int, copy_bytes: int) -> dict:
    sys.path.insert(0, str(REPO / "src"))
    from ghost.narrow.index import AddReport, MailIndex

    started = time.perf_counter()
    first_copy: list[float] = []

    def progress(report: AddReport) -> None:
        if not first_copy and report.stats.bytes_read >= copy_bytes:
            first_copy.append(time.perf_counter() - started)

    with MailIndex(index_dir) as index:
        report = index.add(path, workers=workers, progress=progress)
        stats = index.stats()
    return {"seconds": time.perf_counter() - started, "cpu_seconds_main": time.process_time(),
            "first_copy_seconds": first_copy[0] if first_copy else None,
            "added": report.added, "read": report.stats.to_dict(),
            "index": {k: stats[k] for k in ("messages", "threads", "index_bytes")},
            "worker_cpu_seconds": _cpu(resource.RUSAGE_CHILDREN),
            "worker_peak_rss_mb": _rss_mb(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)}


def query_latency(index_dir: str, repeats: int = 5) -> list[dict]:
    sys.path.insert(0, str(REPO / "src"))
    from ghost.narrow.index import MailIndex

    out = []
    with MailIndex(index_dir) as index:
        for q in QUERIES:
            times = []
            hits = []
            for _ in range(repeats):
                t = time.perf_counter()
                hits = index.search(q, limit=50)
                times.append((time.perf_counter() - t) * 1000)
            out.append({"query": q, "hits": len(hits),
                        "median_ms": round(statistics.median(times), 2),
                        "max_ms": round(max(times), 2)})
        t = time.perf_counter()
        for _ in range(1000):
            index.has_message_id("20050401073151.GA13433@stat.umn.edu")
        out.append({"query": "has_message_id x1000", "total_ms":
                    round((time.perf_counter() - t) * 1000, 2)})
    return out


def child(args: list[str]) -> dict:
    """Run this script as a subprocess in `mode`; return its JSON plus its peak RSS."""
    proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise SystemExit(f"bench child {args[0]} failed:\n{proc.stderr}")
    return json.loads(proc.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--copies", type=int, default=12)
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1,
                    help="run both sides N times, alternating, and keep the best of each")
    ap.add_argument("--keep", action="store_true", help="keep the temp folder")
    ap.add_argument("--mode", choices=["main", "baseline", "ghost"], default="main",
                    help=argparse.SUPPRESS)
    ap.add_argument("--path", help=argparse.SUPPRESS)
    ap.add_argument("--index", help=argparse.SUPPRESS)
    ap.add_argument("--copy-bytes", type=int, default=0, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.mode != "main":
        result = (run_baseline(a.path) if a.mode == "baseline"
                  else run_ghost(a.path, a.index, a.workers, a.copy_bytes))
        result["peak_rss_mb"] = _rss_mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
        print(json.dumps(result))
        return
    if not a.source.exists():
        raise SystemExit(f"{a.source}: not found; pass --source or set GHOST_SHARED_DIR")
    folder = Path(tempfile.mkdtemp(prefix="ghost-bench-"))
    try:
        path = build(a.source, a.copies, folder)
        size = path.stat().st_size
        mb = size / 1e6
        ghosts, bases = [], []
        for i in range(a.repeat):  # alternate, keep the best of each: the machine may be shared
            index_dir = folder / f"index-{i}"
            ghosts.append(child(["--mode", "ghost", "--path", str(path), "--index",
                                 str(index_dir), "--workers", str(a.workers), "--copy-bytes",
                                 str(a.source.stat().st_size)]))
            rss_after_ghost = _rss_mb(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
            bases.append(child(["--mode", "baseline", "--path", str(path)]))
        ghost = min(ghosts, key=lambda r: r["seconds"])
        base = min(bases, key=lambda r: r["seconds"])
        ghost["all_seconds"] = [round(r["seconds"], 2) for r in ghosts]
        base["all_seconds"] = [round(r["seconds"], 2) for r in bases]
        result = {
            "file_mb": round(mb, 1), "copies": a.copies, "workers": a.workers,
            "cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2),
            "baseline": {"mb_per_s": round(mb / base["seconds"], 1), **base},
            "ghost": {"mb_per_s": round(mb / ghost["seconds"], 1), **ghost},
            "ratio_ghost_over_baseline": round(base["seconds"] / ghost["seconds"], 2),
            "ghost_first_copy_mb_per_s": (
                round(a.source.stat().st_size / 1e6 / ghost["first_copy_seconds"], 1)
                if ghost["first_copy_seconds"] else None),
            "cpu_ratio_baseline_over_ghost_total": round(
                base["cpu_seconds"] / (ghost["cpu_seconds_main"] + ghost["worker_cpu_seconds"]), 2),
            "children_max_rss_mb_after_ghost": rss_after_ghost,
            "ghost_peak_rss_mb_main_plus_workers": round(
                ghost["peak_rss_mb"] + a.workers * ghost["worker_peak_rss_mb"], 1),
            "queries": query_latency(str(folder / "index-0")),
            "note": ("copies share Message-IDs: copies 2..N are read and fully parsed "
                     "(MIME, cleaning) like the first, then dropped as duplicates, so they "
                     "cost no indexing (FTS, threads). ghost_first_copy_mb_per_s is the rate "
                     "on the all-unique first copy, where the single SQLite writer is the "
                     "limit. The baseline is single-threaded; ghost parses on `workers` "
                     "processes, so a busy machine (see load_avg_1m) lowers the ratio. "
                     "Ghost memory = peak_rss_mb (writer) + workers x worker_peak_rss_mb."),
        }
        print(json.dumps(result, indent=2, default=str))
    finally:
        if a.keep:
            print(f"kept {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
