"""Run the ghost CLI as a process that file permissions apply to, even when the tests run as
root (who can write to any folder, so a read-only cache or output folder cannot fail for it).

Under root the child keeps uid 0 but loses CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and CAP_FOWNER
from its capability bounding set before it execs Python, so the kernel checks the mode bits
for it like for any user. (Switching to `nobody` instead would need an interpreter `nobody`
can reach; under /root it usually cannot.) `read_only` hands a tree to `nobody` (when root)
with no write bits at all::

    read_only(tmp_path / "cache")
    done = ghost_cli(["summarize", "x.txt", "--cache-dir", str(tmp_path / "cache")])
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from conftest import REPO

PR_CAPBSET_DROP = 24
DROPPED = {"CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3}
NOBODY = 65534


def _shed_capabilities() -> None:
    """A preexec_fn: runs in the child between fork and exec."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in DROPPED.values():
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) refused")


def permissions_apply() -> Callable[[], None] | None:
    """The preexec_fn that makes file permissions apply to a child (None: they already do,
    we are not root). Skips the test when root cannot shed the capabilities (no CAP_SETPCAP,
    or a kernel that refuses), after checking that a child really cannot write."""
    if os.geteuid() != 0:
        return None
    with tempfile.TemporaryDirectory() as folder:
        os.chmod(folder, 0o555)
        try:
            probe = subprocess.run([sys.executable, "-c", "import sys; open(sys.argv[1], 'w')",
                                    os.path.join(folder, "probe")], capture_output=True,
                                   text=True, timeout=60, preexec_fn=_shed_capabilities)
        except subprocess.SubprocessError as exc:
            pytest.skip(f"running as root and cannot shed CAP_DAC_OVERRIDE ({exc})")
        finally:
            os.chmod(folder, 0o755)
    if probe.returncode == 0 or "PermissionError" not in probe.stderr:
        pytest.skip("running as root and a child without CAP_DAC_OVERRIDE still writes to a "
                    "read-only folder")
    return _shed_capabilities


def read_only(tree: Path) -> None:
    """No write bit anywhere in `tree`; owned by `nobody` when we are root (another user's)."""
    for folder, _, files in os.walk(tree):
        for path in [folder, *(os.path.join(folder, f) for f in files)]:
            if os.geteuid() == 0:
                os.chown(path, NOBODY, NOBODY)
            os.chmod(path, 0o555 if os.path.isdir(path) else 0o444)


def writable(tree: Path) -> None:
    """Undo `read_only` (ours again, writable), so the tree can be inspected and removed."""
    for folder, _, files in os.walk(tree):
        for path in [folder, *(os.path.join(folder, f) for f in files)]:
            if os.geteuid() == 0:
                os.chown(path, 0, 0)
            os.chmod(path, 0o700 if os.path.isdir(path) else 0o600)


def ghost_cli(args: Sequence[str | Path]) -> subprocess.CompletedProcess[str]:
    """`python -m ghost ARGS` as a process the permissions apply to (skips when impossible);
    the environment is ours (the stand-in's variables included)."""
    preexec = permissions_apply()
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "ghost", *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=300, preexec_fn=preexec)
