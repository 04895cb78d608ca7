"""The one canonical JSON encoding of everything on the board.

Keys sorted, no insignificant white space, UTF-8, integers only, except shares in
[0, 1] (the manifest's rule), written as JavaScript writes them. The browser booth and
Python produce the same bytes for the same value.
"""

from __future__ import annotations

import json
import math
from typing import Any


class CanonicalError(ValueError):
    """A value has no canonical encoding."""


def _check(value: Any, path: str = "$") -> None:
    if value is None or isinstance(value, bool | str):
        return
    if isinstance(value, int):
        if abs(value) >= 2**53:
            raise CanonicalError(f"{path}: integer too large for JSON")
        return
    if isinstance(value, float):
        if not math.isfinite(value) or not 0 <= value <= 1:
            raise CanonicalError(f"{path}: only shares in [0, 1] may be fractional")
        return
    if isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _check(v, f"{path}[{i}]")
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise CanonicalError(f"{path}: object keys must be strings")
            _check(v, f"{path}.{k}")
        return
    raise CanonicalError(f"{path}: {type(value).__name__} is not JSON")


def _normalise(value: Any) -> Any:
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, list | tuple):
        return [_normalise(v) for v in value]
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    return value


def canonical_bytes(value: Any) -> bytes:
    _check(value)
    text = json.dumps(_normalise(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def loads(data: bytes | str) -> Any:
    """Parse JSON strictly: no NaN/Infinity, no duplicate keys."""

    def no_dupes(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in pairs:
            if k in out:
                raise CanonicalError(f"duplicate key {k!r}")
            out[k] = v
        return out

    def bad_constant(name: str) -> Any:
        raise CanonicalError(f"{name} is not allowed")

    try:
        return json.loads(data, object_pairs_hook=no_dupes, parse_constant=bad_constant)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CanonicalError(f"not valid JSON: {exc}") from exc
