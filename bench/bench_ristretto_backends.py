"""Which binding of libsodium's ristretto255 to use: pysodium or direct ctypes calls
(what plebiscite.crypto.group does). Side by side, in one run, medians of R rounds.

    .venv/bin/pip install pysodium   # only for this comparison
    .venv/bin/python bench/bench_ristretto_backends.py
"""

from __future__ import annotations

import statistics
import sys
import timeit

from plebiscite.crypto.group import get_group


def main(rounds: int = 7, n: int = 2000) -> None:
    g = get_group("ristretto255")
    s1, s2 = g.random_scalar(), g.random_scalar()
    p = g.g_pow(s1)
    ours = {
        "variable-base mult": lambda: g.pow(p, s2),
        "base mult": lambda: g.g_pow(s2),
        "add": lambda: g.mul(p, p),
        "decode (validity)": lambda: g.decode_element(p.to_bytes()),
    }
    theirs = {}
    try:
        import pysodium  # type: ignore[import-untyped]

        k = s2.to_bytes(32, "little")
        pb = p.to_bytes()
        theirs = {
            "variable-base mult": lambda: pysodium.crypto_scalarmult_ristretto255(k, pb),
            "base mult": lambda: pysodium.crypto_scalarmult_ristretto255_base(k),
            "add": lambda: pysodium.crypto_core_ristretto255_add(pb, pb),
            "decode (validity)": lambda: pysodium.crypto_core_ristretto255_is_valid_point(pb),
        }
    except ImportError:
        print(
            "pysodium is not installed: only plebiscite's ctypes binding is timed", file=sys.stderr
        )
    print(f"{'operation':<22}{'ctypes (us)':>14}{'pysodium (us)':>16}{'ratio':>8}")
    for name, fn in ours.items():
        a, b = [], []
        for _ in range(rounds):  # interleaved, so load on the shared machine hits both
            a.append(timeit.timeit(fn, number=n) / n * 1e6)
            if name in theirs:
                b.append(timeit.timeit(theirs[name], number=n) / n * 1e6)
        ma = statistics.median(a)
        mb = statistics.median(b) if b else float("nan")
        print(f"{name:<22}{ma:>14.1f}{mb:>16.1f}{mb / ma:>8.2f}")


if __name__ == "__main__":
    main()
