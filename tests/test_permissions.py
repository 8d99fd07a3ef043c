"""Private data stays private: cache and mail-index folders 0700, their files 0600.

Modes are checked by walking the tree, and the response cache is also used by a non-root
user, because root ignores permission bits: a 0600 folder works for root and for nobody else.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from ghost.cache import ResponseCache
from ghost.narrow.index import INDEX_FILE, MailIndex

MAIL = Path(__file__).parent / "fixtures" / "mail"
BIG = {"text": "x" * 100_000}  # above diskcache's min_file_size: stored in <xx>/<yy>/<name>.val


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def tree_modes(root: Path) -> tuple[dict[str, int], dict[str, int]]:
    """({folder: mode}, {file: mode}) for `root` and everything under it."""
    dirs = {".": mode(root)}
    files: dict[str, int] = {}
    for folder, subdirs, names in os.walk(root):
        for name in subdirs:
            dirs[os.path.relpath(os.path.join(folder, name), root)] = mode(Path(folder, name))
        for name in names:
            files[os.path.relpath(os.path.join(folder, name), root)] = mode(Path(folder, name))
    return dirs, files


@pytest.fixture()
def loose_umask() -> Iterator[None]:
    """The common 022 umask, so that anything left to defaults comes out world-readable."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_cache_tree_is_0700_folders_0600_files(tmp_path: Path, loose_umask: None) -> None:
    root = tmp_path / "cache"
    cache = ResponseCache(root)
    cache.set("small", {"text": "hi"})
    cache.set("big", BIG)  # makes two levels of sub-folders and a value file
    cache.close()
    cache = ResponseCache(root)  # reopening walks the existing tree
    cache.set("big2", {"text": "y" * 100_000})
    assert cache.get("big") == BIG and cache.get("small") == {"text": "hi"}
    cache.close()

    dirs, files = tree_modes(root)
    assert len(dirs) >= 4 and any(f.endswith(".val") for f in files)  # sub-folders were made
    assert {d: m for d, m in dirs.items() if m != 0o700} == {}
    assert {f: m for f, m in files.items() if m != 0o600} == {}


def test_cache_tightens_an_existing_loose_tree(tmp_path: Path, loose_umask: None) -> None:
    root = tmp_path / "cache"
    cache = ResponseCache(root)
    cache.set("big", BIG)
    cache.close()
    (root / "responses" / ".private").unlink()  # as a cache from before the one-time walk
    for path in [root, *root.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    ResponseCache(root).close()
    dirs, files = tree_modes(root)
    assert set(dirs.values()) == {0o700} and set(files.values()) == {0o600}


# The child: write a large entry, reopen the cache (which re-applies modes), read it back.
CHILD = """
import codecs, os, sys
import diskcache, diskcache.core, json, sqlite3
from ghost.cache import ResponseCache

codecs.lookup("hex")  # diskcache names value files with it; load it while Python is reachable

root, drop = sys.argv[1], sys.argv[2:]
if drop:  # privileges are dropped here, after the imports, when nobody cannot reach Python
    uid, gid = int(drop[0]), int(drop[1])
    try:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    except OSError as exc:
        print(f"cannot drop privileges: {exc}")
        sys.exit(77)
assert os.geteuid() != 0, "still root"
big = {"text": "x" * 100_000}
cache = ResponseCache(root)
cache.set("k", big)
cache.close()
cache = ResponseCache(root)
got = cache.get("k")
cache.close()
assert got == big, "entry not read back"
print("ok", os.geteuid())
"""


def _run(args: list[str], work: str, env: dict[str, str],
         user: tuple[int, int] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `args` in `work`; with `user` (uid, gid), as that user from before exec."""
    def drop() -> None:
        assert user is not None
        os.setgroups([])
        os.setgid(user[1])
        os.setuid(user[0])

    return subprocess.run(args, cwd=work, env=env, capture_output=True, text=True, timeout=120,
                          preexec_fn=drop if user else None)


def test_cache_works_for_a_non_root_user() -> None:
    """Write and read back an entry as a non-root user: fails if any cache folder lacks x."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONDONTWRITEBYTECODE": "1"}
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    if os.geteuid() != 0:
        with tempfile.TemporaryDirectory() as work:
            env["HOME"] = work
            done = _run([sys.executable, "-c", CHILD, f"{work}/cache"], work, env)
        assert done.returncode == 0, done.stdout + done.stderr
        return
    import pwd

    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("running as root and there is no `nobody` user to switch to")
    user = (nobody.pw_uid, nobody.pw_gid)
    work = tempfile.mkdtemp(prefix="ghost-perm-")
    try:
        os.chown(work, *user)
        os.chmod(work, 0o700)
        env["HOME"] = work
        cache = f"{work}/cache"
        # As asked: a subprocess that is nobody from the start (setuid in preexec_fn). That
        # needs nobody to reach the interpreter and ghost; under /root it usually cannot.
        try:
            probe = _run([sys.executable, "-c", "import ghost.cache, diskcache"], work, env, user)
            reachable = probe.returncode == 0
        except PermissionError:
            reachable = False
        if reachable:
            done = _run([sys.executable, "-c", CHILD, cache], work, env, user)
        else:  # otherwise the child starts as root, imports, then becomes nobody itself
            done = _run([sys.executable, "-c", CHILD, cache, *map(str, user)], work, env)
            if done.returncode == 77:
                pytest.skip(f"cannot switch to `nobody` here: {done.stdout.strip()}")
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.split() == ["ok", str(user[0])]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_mail_index_folder_0700_and_db_files_0600(tmp_path: Path, loose_umask: None) -> None:
    folder = tmp_path / "cache" / "mail"
    with MailIndex(folder) as index:
        index.add(MAIL / "pipermail.mbox", workers=1)
        dirs, files = tree_modes(folder)
        assert INDEX_FILE in files and f"{INDEX_FILE}-wal" in files  # checked while open
    assert mode(tmp_path / "cache") == 0o700  # a missing parent is made private too
    assert set(dirs.values()) == {0o700}
    assert {f: m for f, m in files.items() if m != 0o600} == {}


def test_mail_index_tightens_an_existing_index(tmp_path: Path, loose_umask: None) -> None:
    folder = tmp_path / "mail"
    MailIndex(folder).close()
    os.chmod(folder, 0o755)
    for path in folder.iterdir():
        os.chmod(path, 0o644)
    with MailIndex(folder):
        dirs, files = tree_modes(folder)
    assert set(dirs.values()) == {0o700} and set(files.values()) == {0o600}


def test_mail_index_in_a_named_file_leaves_the_callers_folder_alone(
        tmp_path: Path, loose_umask: None) -> None:
    os.chmod(tmp_path, 0o755)
    with MailIndex(tmp_path / "idx.sqlite"):
        pass
    assert mode(tmp_path) == 0o755  # not ours to change (it could be the working directory)
    assert mode(tmp_path / "idx.sqlite") == 0o600
    with MailIndex(tmp_path / "new" / "idx.sqlite"):
        pass
    assert mode(tmp_path / "new") == 0o700 and mode(tmp_path / "new" / "idx.sqlite") == 0o600
