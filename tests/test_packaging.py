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


REPO = PACKAGE.parents[1]
PROVIDER_NAMES = {"anthropic", "openai", "local", "fake"}


def test_a_session_is_made_in_one_module() -> None:
    makers = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                    if any(isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                           and node.func.id == "Session"
                           for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))))
    assert makers == ["jobs/runner.py"]


def provider_name_branches(path: Path) -> list[int]:
    """Lines comparing with a provider's name, or keyed by one (`== "openai"`, `in ("local",
    …)`, `{"anthropic": …}`)."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Compare):
            for side in [node.left, *node.comparators]:
                values = side.elts if isinstance(side, ast.Tuple | ast.List | ast.Set) else [side]
                if any(isinstance(v, ast.Constant) and v.value in PROVIDER_NAMES
                       for v in values):
                    lines.append(node.lineno)
        elif isinstance(node, ast.Dict) and any(
                isinstance(k, ast.Constant) and k.value in PROVIDER_NAMES for k in node.keys):
            lines.append(node.lineno)
    return lines


def test_only_the_provider_registry_branches_on_a_provider_s_name() -> None:
    branching = {str(p.relative_to(PACKAGE)): lines for p in sorted(PACKAGE.rglob("*.py"))
                 if (lines := provider_name_branches(p))}
    assert set(branching) <= {"providers/__init__.py"}, branching


def test_no_module_is_over_400_lines() -> None:
    long = {str(p.relative_to(REPO)): n for folder in ("src", "tests", "bench")
            for p in (REPO / folder).rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400}
    assert long == {}
