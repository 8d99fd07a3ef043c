"""Prompt templates: jinja2 files with two parts, `system.md` (our instructions) and `user.md`.

Untrusted text (transcripts, emails) only ever arrives as a variable and is wrapped with the
`delimit` filter; it is never rendered as template source and never goes in the system part.
Lookup order for each file: the folder given with --templates DIR, then the built-ins. Nothing
is read from the working folder: a stray `./templates/` must neither change a cron job's
prompts (and cache keys) nor run code. Templates render in jinja2's sandbox, so even a
template you were handed cannot reach Python internals (`cycler.__init__.__globals__` ...):
that is a one-line ConfigError.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ghost.errors import ConfigError

_BUILTIN_IN_WHEEL = "templates"


def builtin_dir() -> Path:
    packaged = Path(str(resources.files("ghost").joinpath(_BUILTIN_IN_WHEEL)))
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "templates"  # source checkout / editable install


def delimit(text: str, label: str = "DATA") -> str:
    """Wrap untrusted text in markers it cannot forge: the tag depends on the text's hash."""
    tag = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    begin, end = f"<<<{label} {tag}>>>", f"<<<END {label} {tag}>>>"
    body = text.replace("<<<", "‹‹‹")
    return f"{begin}\n{body}\n{end}"


@dataclass(frozen=True)
class Prompt:
    system: str
    user: str


class Templates:
    def __init__(self, override: str | Path | None = None):
        import jinja2
        from jinja2.sandbox import SandboxedEnvironment

        self.search_path = [Path(override)] if override else []
        if override and not self.search_path[0].is_dir():
            raise ConfigError(f"--templates {override}: not a folder")
        self.search_path.append(builtin_dir())
        self._env = SandboxedEnvironment(
            loader=jinja2.FileSystemLoader([str(p) for p in self.search_path]),
            undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False,
            trim_blocks=True, lstrip_blocks=True,
        )
        self._env.filters["delimit"] = delimit

    def render(self, name: str, **variables: Any) -> Prompt:
        return Prompt(self.file(name, "system", variables), self.file(name, "user", variables))

    def file(self, name: str, file: str, variables: dict[str, Any]) -> str:
        """One file of a template, e.g. file("essay-write", "samples", {...})."""
        return self._render(f"{name}/{file}.md", variables).strip()

    def _render(self, path: str, variables: dict[str, Any]) -> str:
        import jinja2
        from jinja2.exceptions import SecurityError

        try:
            return self._env.get_template(path).render(**variables)
        except jinja2.TemplateNotFound:
            raise ConfigError(f"template {path} not found in "
                              f"{', '.join(map(str, self.search_path))}") from None
        except SecurityError as exc:  # an unsafe attribute or call, e.g. `x.__globals__`
            raise ConfigError(f"template {path}: refused by the sandbox ({str(exc).rstrip('.')}); "
                              "templates may only use the variables and filters ghost gives "
                              "them") from None
        except jinja2.UndefinedError as exc:
            raise ConfigError(f"template {path}: {exc.message}") from None
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigError(f"template {exc.filename or path} line {exc.lineno}: "
                              f"{exc.message}") from None
        except jinja2.TemplateError as exc:
            raise ConfigError(f"template {path}: {exc}") from None
