"""What ships: the ghost package carries no test server (the stand-in lives in tests/standin)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "ghost"
FORBIDDEN = ("http.server", "socketserver", "standin", "ghost.testing")


def imported_modules(path: Path) -> set[str]:
    """Every module the file's imports name (`from a import b`: a and a.b), relative ones
    resolved against the file's package."""
    package = ["ghost", *path.relative_to(PACKAGE).parent.parts]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def forbidden(name: str) -> bool:
    return any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN)


def test_no_module_of_the_package_imports_a_server_or_the_stand_in() -> None:
    sources = sorted(PACKAGE.rglob("*.py"))
    assert len(sources) > 10  # the package was found
    offenders = sorted(
        f"{path.relative_to(PACKAGE)}: {name}"
        for path in sources
        for name in imported_modules(path)
        if forbidden(name)
    )
    assert offenders == []
    assert not (PACKAGE / "testing").exists()
