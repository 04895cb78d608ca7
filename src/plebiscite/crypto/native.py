"""plebiscite's own variable-time ristretto255 library, for verifiers (issue 6).

libsodium has no multi-scalar multiplication and each of its calls is constant time, so
a proof equation costs several full scalar multiplications. ``native/ristretto_vt.c``
(built by ``make setup`` into ``_ristretto_vt.so`` beside this module, and by pip as an
extension of the same name) decodes, adds and multiplies by many scalars at once
(Pippenger's method), in variable time: it is only ever given public values (a
record's elements, challenges and responses, and a batch's random weights). It is tested
against libsodium (tests/test_native_ristretto.py).

When the library is absent (not built) or ``PLEBISCITE_NATIVE=0`` is set, :func:`available`
is False and verifiers take the exact path through libsodium: same verdicts, slower.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

LIBRARY: Final = Path(__file__).with_name("_ristretto_vt.so")  # built by make setup


def _library() -> Path | None:
    """The built library: ``make setup``'s, else the one pip built beside this module
    (named for the interpreter's ABI, ``_ristretto_vt.cpython-311-....so``)."""
    if LIBRARY.exists():
        return LIBRARY
    return next(iter(sorted(LIBRARY.parent.glob("_ristretto_vt.*.so"))), None)


_ZERO32: Final = bytes(32)


class NativeError(ValueError):
    """An input the library refused (a point that is not a canonical encoding)."""


def _load() -> Any:
    path = _library()
    if os.environ.get("PLEBISCITE_NATIVE", "1") == "0" or path is None:
        return None
    try:
        lib = ctypes.CDLL(str(path))
    except OSError:
        return None
    lib.rvt_init.restype = ctypes.c_int
    lib.rvt_msm.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]
    lib.rvt_msm.restype = ctypes.c_int
    lib.rvt_sum.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]
    lib.rvt_sum.restype = ctypes.c_int
    lib.rvt_is_valid.argtypes = [ctypes.c_char_p]
    lib.rvt_is_valid.restype = ctypes.c_int
    lib.rvt_constants.argtypes = [ctypes.c_char_p]
    if lib.rvt_init() != 0:
        return None
    return lib


_LIB: Any = _load()


def available() -> bool:
    """Whether the library is built and enabled."""
    return _LIB is not None


def set_enabled(on: bool) -> None:
    """Turn the library off (or on again, if built): for tests and side-by-side runs."""
    global _LIB
    _LIB = _load() if on else None


def _lib() -> Any:
    if _LIB is None:
        raise NativeError("plebiscite's native ristretto255 library is not available")
    return _LIB


def _failed(rc: int) -> Exception:
    """The exception for a library call's negative return code."""
    if rc == -0x7FFFFFFF:
        return MemoryError("out of memory in the native ristretto255 library")
    return NativeError(f"point {-1 - rc} is not a canonical ristretto255 encoding")


def msm(points: Sequence[bytes], scalars: Sequence[int]) -> bytes:
    """The encoding of ``sum scalars[i] * points[i]`` (public values only): scalars are
    non-negative and below 2^256. Every point is checked, whatever its scalar."""
    if len(points) != len(scalars):
        raise ValueError("as many scalars as points")
    out = ctypes.create_string_buffer(32)
    rc = _lib().rvt_msm(
        out,
        b"".join(points),
        b"".join(s.to_bytes(32, "little") for s in scalars),
        len(points),
    )
    if rc:
        raise _failed(rc)
    return out.raw


def is_identity_sum(points: Sequence[bytes], scalars: Sequence[int]) -> bool:
    """``sum scalars[i] * points[i]`` is the identity; False too if a point is invalid."""
    try:
        return msm(points, scalars) == _ZERO32
    except NativeError:
        return False


def sum_points(points: Sequence[bytes]) -> bytes:
    """The encoding of the sum of ``points``; NativeError if one is not valid."""
    out = ctypes.create_string_buffer(32)
    rc = _lib().rvt_sum(out, b"".join(points), len(points))
    if rc:
        raise _failed(rc)
    return out.raw


def is_valid(data: bytes) -> bool:
    """``data`` is a canonical encoding of a ristretto255 element (the identity too)."""
    return len(data) == 32 and _lib().rvt_is_valid(bytes(data)) == 1


def constants() -> tuple[int, int, int]:
    """d, sqrt(-1) and 1/sqrt(a - d) as the library computed them (for the tests)."""
    out = ctypes.create_string_buffer(96)
    _lib().rvt_constants(out)
    raw = out.raw
    d, i, s = (int.from_bytes(raw[k : k + 32], "little") for k in (0, 32, 64))
    return d, i, s
