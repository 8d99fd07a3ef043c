"""Read a GGUF file's trained context length from its header, without loading any weights.

Pure Python on purpose: planning (and --dry-run) works even before the 'local' extra is
installed, and reading the header takes milliseconds where a vocab-only load takes a second.
Format: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

MAGIC = b"GGUF"
_MAX_STRING = 64 * 1024 * 1024
_STRING, _ARRAY = 8, 9
# Fixed-size value types: type id → struct format (little-endian).
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
            10: "<Q", 11: "<q", 12: "<d"}


def _read(fh: BinaryIO, fmt: str) -> int | float | bool:
    size = struct.calcsize(fmt)
    data = fh.read(size)
    if len(data) != size:
        raise EOFError("truncated GGUF header")
    value: int | float | bool = struct.unpack(fmt, data)[0]
    return value


def _string(fh: BinaryIO) -> str:
    length = int(_read(fh, "<Q"))
    if length > _MAX_STRING:  # a corrupt header; never try to allocate it
        raise ValueError(f"GGUF header string of {length} bytes")
    data = fh.read(length)
    if len(data) != length:
        raise EOFError("truncated GGUF header")
    return data.decode("utf-8", errors="replace")


def _value(fh: BinaryIO, kind: int) -> int | float | bool | str | None:
    """Read one value; arrays are skipped (None): no key we need is an array."""
    if kind in _SCALARS:
        return _read(fh, _SCALARS[kind])
    if kind == _STRING:
        return _string(fh)
    if kind == _ARRAY:
        item, count = int(_read(fh, "<I")), int(_read(fh, "<Q"))
        if item in _SCALARS:
            fh.seek(count * struct.calcsize(_SCALARS[item]), 1)
        else:
            for _ in range(count):
                _value(fh, item)
        return None
    raise ValueError(f"unknown GGUF value type {kind}")


def read_metadata(path: str | Path) -> dict[str, object]:
    """Scalar and string header metadata, up to `<arch>.context_length` (or all of it)."""
    found: dict[str, object] = {}
    with open(path, "rb") as fh:
        if fh.read(4) != MAGIC:
            raise ValueError(f"{path}: not a GGUF file")
        version = int(_read(fh, "<I"))
        if version < 2:  # v1 used 32-bit counts and lengths; nothing current writes it
            raise ValueError(f"{path}: GGUF version {version} is not supported")
        _read(fh, "<Q")  # tensor count
        for _ in range(int(_read(fh, "<Q"))):
            key = _string(fh)
            value = _value(fh, int(_read(fh, "<I")))
            if value is not None:
                found[key] = value
            if f"{found.get('general.architecture')}.context_length" in found:
                break  # the vocabulary arrays that usually follow are large: stop here
    return found


def context_length(path: str | Path) -> int | None:
    """The context the model was trained for (`<arch>.context_length`), None when unreadable."""
    try:
        meta = read_metadata(path)
    except (OSError, ValueError, EOFError, struct.error):
        return None
    value = meta.get(f"{meta.get('general.architecture')}.context_length")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
