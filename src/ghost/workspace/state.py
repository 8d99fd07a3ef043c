"""What `ghost run` has done: per episode (by content hash) and spend per month, as JSON."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ghost.cache import ensure_private_dir
from ghost.errors import ConfigError
from ghost.write.atomic import write_text_atomic

DONE, FAILED, WAITING, OVER_BUDGET = "done", "failed", "waiting", "over-budget"


@dataclass
class EpisodeState:
    sha256: str
    status: str
    outputs: list[str] = field(default_factory=list)
    cost_usd: float = 0.0
    updated: str = ""
    error: str = ""
    batch_ids: list[str] = field(default_factory=list)


@dataclass
class WorkspaceState:
    path: Path
    episodes: dict[str, EpisodeState] = field(default_factory=dict)
    spend: dict[str, float] = field(default_factory=dict)  # "YYYY-MM" → USD

    @classmethod
    def load(cls, state_dir: Path) -> WorkspaceState:
        path = ensure_private_dir(state_dir) / "state.json"
        if not path.exists():
            return cls(path)
        try:
            data = json.loads(path.read_text("utf-8"))
            episodes = {k: EpisodeState(**v) for k, v in data.get("episodes", {}).items()}
            return cls(path, episodes, {k: float(v) for k, v in data.get("spend", {}).items()})
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{path}: unreadable state ({exc}); move it aside to start "
                              "afresh (finished calls stay cached)") from None

    def save(self) -> None:
        data: dict[str, Any] = {"episodes": {k: asdict(v) for k, v in self.episodes.items()},
                                "spend": self.spend}
        write_text_atomic(self.path, json.dumps(data, indent=1, sort_keys=True) + "\n",
                          mode=0o600)

    def is_done(self, name: str, sha256: str) -> bool:
        entry = self.episodes.get(name)
        return bool(entry and entry.status == DONE and entry.sha256 == sha256
                    and all(Path(p).exists() for p in entry.outputs))

    def month_spend(self, month: str | None = None) -> float:
        return self.spend.get(month or this_month(), 0.0)

    def add_spend(self, dollars: float) -> None:
        month = this_month()
        self.spend[month] = round(self.spend.get(month, 0.0) + dollars, 6)


def this_month() -> str:
    return time.strftime("%Y-%m")


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
