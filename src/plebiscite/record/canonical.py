"""The one canonical JSON encoding of everything on the board.

Keys sorted, no insignificant white space, UTF-8, integers only, except shares in
[0, 1] (the manifest's rule), written as JavaScript writes them. The browser booth and
Python produce the same bytes for the same value.

Integers are bounded by JavaScript's exact range, |n| < 2^53 (``MAX_SAFE_INTEGER``): a
record's integers are counts, indices and sizes, and every big number (group elements,
exponents, hashes) is a string. The parser refuses a longer integer before converting
it, so a line holding thousands of digits costs nothing and is simply not valid.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any


class CanonicalError(ValueError):
    """A value has no canonical encoding."""


MAX_INT = 2**53 - 1  # JavaScript's Number.MAX_SAFE_INTEGER
_MAX_INT_DIGITS = len(str(MAX_INT))


def _parse_int(text: str) -> int:
    """An integer literal within the bound, refused before conversion when too long."""
    if len(text) - text.startswith("-") > _MAX_INT_DIGITS or abs(n := int(text)) > MAX_INT:
        raise CanonicalError(f"integer too large (more than 2^53 - 1): {text[:20]}…")
    return n


def _parse_float(text: str) -> float:
    x = float(text)
    if not math.isfinite(x):  # 1e999 reads as infinity
        raise CanonicalError(f"number out of range: {text[:20]}")
    return x


def _check(value: Any, path: str = "$") -> bool:
    """Raise if ``value`` has no canonical encoding; True when it holds a float."""
    if value is None or isinstance(value, bool | str):
        return False
    if isinstance(value, int):
        if abs(value) > MAX_INT:
            raise CanonicalError(f"{path}: integer too large for JSON")
        return False
    if isinstance(value, float):
        if not math.isfinite(value) or not 0 <= value <= 1:
            raise CanonicalError(f"{path}: only shares in [0, 1] may be fractional")
        return True
    if isinstance(value, list | tuple):
        found = False
        for i, v in enumerate(value):
            found = _check(v, f"{path}[{i}]") or found
        return found
    if isinstance(value, dict):
        found = False
        for k, v in value.items():
            if not isinstance(k, str):
                raise CanonicalError(f"{path}: object keys must be strings")
            found = _check(v, f"{path}.{k}") or found
        return found
    raise CanonicalError(f"{path}: {type(value).__name__} is not JSON")


def js_number(x: float) -> str:
    """A float as JavaScript's Number#toString writes it (shortest round-trip digits;
    plain decimals from 1e-6 up to 1e21, exponent form outside)."""
    if x == 0:
        return "0"
    if x.is_integer():
        return str(int(x))
    _, digits_t, exp = Decimal(repr(x)).as_tuple()
    assert isinstance(exp, int)
    digits = "".join(map(str, digits_t)).rstrip("0") or "0"
    exp += len("".join(map(str, digits_t))) - len(digits)
    k = len(digits)
    n = exp + k  # the decimal point sits after n digits
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + digits
    e = n - 1
    mant = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{mant}e{'+' if e > 0 else '-'}{abs(e)}"


def _encode(value: Any) -> str:
    if isinstance(value, float):
        return js_number(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    if isinstance(value, dict):
        items = sorted(value.items())
        return "{" + ",".join(_dumps(k) + ":" + _encode(v) for k, v in items) + "}"
    return _dumps(value)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def canonical_bytes(value: Any) -> bytes:
    has_float = _check(value)
    try:
        if has_float:
            return _encode(value).encode("utf-8")
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CanonicalError("strings must be valid Unicode (no lone surrogates)") from exc


def loads(data: bytes | str) -> Any:
    """Parse JSON strictly: no NaN/Infinity (nor numbers too large for a double), no
    duplicate keys, no integer beyond ±(2^53 - 1). Raises CanonicalError only."""

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
        return json.loads(
            data,
            object_pairs_hook=no_dupes,
            parse_constant=bad_constant,
            parse_int=_parse_int,
            parse_float=_parse_float,
        )
    except CanonicalError:
        raise
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CanonicalError(f"not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise CanonicalError("not valid JSON: nested too deeply") from exc
    except (ValueError, TypeError) as exc:  # anything else json.loads may raise
        raise CanonicalError(f"not valid JSON: {exc}") from exc


def json_equal(a: Any, b: Any) -> bool:
    """Equality of two JSON values, type for type: ``true`` is not ``1`` and ``1.0`` is not
    ``1`` (Python's ``True == 1`` and ``1 == 1.0`` would let a second spelling of a
    signed value through)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict):
        return (
            isinstance(b, dict) and a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
        )
    if isinstance(a, list):
        return (
            isinstance(b, list)
            and len(a) == len(b)
            and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
        )
    return type(a) is type(b) and bool(a == b)
