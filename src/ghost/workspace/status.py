"""`ghost status`: what the workspace has done and what is left."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from ghost.workspace.config import WorkspaceConfig, load_config
from ghost.workspace.state import WorkspaceState, this_month


def workspace_status(config_path: Path) -> dict[str, Any]:
    config = load_config(config_path)
    state = WorkspaceState.load(config.state_dir)
    episodes: dict[str, dict[str, Any]] = {}
    for path in config.episodes():
        name = config.episode_key(path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        entry = state.episodes.get(name)
        if entry is None:
            episodes[name] = {"status": "pending", "cost_usd": 0.0}
        elif entry.sha256 != digest:
            episodes[name] = {"status": "changed", "cost_usd": entry.cost_usd}
        else:
            episodes[name] = {"status": entry.status, "cost_usd": entry.cost_usd,
                                   "error": entry.error, "outputs": entry.outputs}
    counts: dict[str, int] = {}
    for info in episodes.values():
        counts[info["status"]] = counts.get(info["status"], 0) + 1
    return {"episodes": episodes,
            "counts": ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no episodes",
            "month": this_month(), "month_spend": state.month_spend(),
            "batch_committed_usd": round(_committed(config), 6),
            "budget_per_month": config.budget_per_month}


def _committed(config: WorkspaceConfig) -> float:
    """Dollars in this workspace's provider batches sent but not yet collected (billed when
    collected); other workspaces sharing the cache folder keep their own."""
    from ghost.models.batch import BatchStore, workspace_id

    folder = (config.cache_dir or config.root / "cache")
    if not (folder / "batches").is_dir():
        return 0.0
    return BatchStore(folder, workspace=workspace_id(config.root)).committed()
