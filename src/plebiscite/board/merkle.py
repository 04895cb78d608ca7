"""RFC 6962 / RFC 9162 Merkle tree hashing, proofs and proof verification (SHA-256).

The module has two halves:

* pure functions over a list of leaf hashes (``root_from_leaf_hashes``,
  ``inclusion_proof``, ``consistency_proof``) that follow the recursive definitions
  of RFC 9162 sections 2.1.1, 2.1.3.1 and 2.1.4.1 literally; they are the reference
  the rest is tested against, and cost O(n);
* ``MerkleTree``, an incremental tree that keeps every perfect-subtree hash, so that
  appending is amortised O(1) and the root, inclusion and consistency proofs for any
  earlier tree size cost O(log^2 n) at most.

The verifiers (``verify_inclusion``, ``verify_consistency``) implement the iterative
algorithms of RFC 9162 sections 2.1.3.2 and 2.1.4.2. They never raise: any malformed
input (wrong hash length, wrong type, index out of range, bad proof) yields ``False``.

Proof generators raise ``ValueError`` when asked for something that does not exist
(index >= size, size larger than the tree, old size larger than new size).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MerkleTree",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root_from_leaf_hashes",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"

EMPTY_ROOT: bytes = hashlib.sha256(b"").digest()
"""Root of the empty tree: SHA-256 of the empty string."""


def leaf_hash(data: bytes) -> bytes:
    """Hash of a leaf: SHA-256(0x00 || data)."""
    return hashlib.sha256(LEAF_PREFIX + bytes(data)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash of an interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _hash_pair(pair: bytes | bytearray) -> bytes:
    """``node_hash(left, right)`` for ``pair = left || right`` (packed storage)."""
    return hashlib.sha256(NODE_PREFIX + pair).digest()


def _split(n: int) -> int:
    """Largest power of two strictly smaller than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes | bytearray | memoryview) and len(value) == HASH_SIZE


def _is_size(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


# --------------------------------------------------------------------------------------
# Reference definitions over a list of leaf hashes (RFC 9162 2.1.1, 2.1.3.1, 2.1.4.1)
# --------------------------------------------------------------------------------------


def _check_leaves(leaves: Sequence[bytes], size: int) -> None:
    if not _is_size(size):
        raise ValueError(f"tree size must be a non-negative integer, got {size!r}")
    if size > len(leaves):
        raise ValueError(f"tree size {size} exceeds the {len(leaves)} leaves given")


def _mth(leaves: Sequence[bytes], start: int, end: int) -> bytes:
    n = end - start
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return bytes(leaves[start])
    k = _split(n)
    return node_hash(_mth(leaves, start, start + k), _mth(leaves, start + k, end))


def root_from_leaf_hashes(leaves: Sequence[bytes]) -> bytes:
    """RFC 6962 Merkle Tree Hash (MTH) of a list of leaf hashes."""
    return _mth(leaves, 0, len(leaves))


def _path(leaves: Sequence[bytes], m: int, start: int, end: int) -> list[bytes]:
    n = end - start
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return _path(leaves, m, start, start + k) + [_mth(leaves, start + k, end)]
    return _path(leaves, m - k, start + k, end) + [_mth(leaves, start, start + k)]


def inclusion_proof(leaves: Sequence[bytes], index: int, size: int) -> list[bytes]:
    """Audit path PATH(index, D[0:size]) of RFC 9162 section 2.1.3.1, leaf level first."""
    _check_leaves(leaves, size)
    if not _is_size(index) or index >= size:
        raise ValueError(f"leaf index {index!r} is not in a tree of size {size}")
    return _path(leaves, index, 0, size)


def _subproof(leaves: Sequence[bytes], m: int, start: int, end: int, b: bool) -> list[bytes]:
    n = end - start
    if m == n:
        return [] if b else [_mth(leaves, start, end)]
    k = _split(n)
    if m <= k:
        return _subproof(leaves, m, start, start + k, b) + [_mth(leaves, start + k, end)]
    return _subproof(leaves, m - k, start + k, end, False) + [_mth(leaves, start, start + k)]


def consistency_proof(leaves: Sequence[bytes], old_size: int, new_size: int) -> list[bytes]:
    """Consistency proof PROOF(old_size, D[0:new_size]) of RFC 9162 section 2.1.4.1.

    Empty when ``old_size`` is 0 or equals ``new_size``.
    """
    _check_leaves(leaves, new_size)
    if not _is_size(old_size) or old_size > new_size:
        raise ValueError(f"old size {old_size!r} is not in 0..{new_size}")
    if old_size == 0 or old_size == new_size:
        return []
    return _subproof(leaves, old_size, 0, new_size, True)


# --------------------------------------------------------------------------------------
# Verification (RFC 9162 2.1.3.2 and 2.1.4.2); never raises
# --------------------------------------------------------------------------------------


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Check that ``leaf`` (a leaf hash) is at ``index`` in the tree of ``size`` with ``root``."""
    try:
        if not (_is_hash(leaf) and _is_hash(root) and _is_size(index) and _is_size(size)):
            return False
        if index >= size:
            return False
        if isinstance(proof, str | bytes | bytearray | memoryview):
            return False
        path = list(proof)
        if not all(_is_hash(p) for p in path):
            return False
        fn, sn = index, size - 1
        r = bytes(leaf)
        for p in path:
            if sn == 0:
                return False
            if fn & 1 or fn == sn:
                r = node_hash(bytes(p), r)
                while fn != 0 and not fn & 1:
                    fn >>= 1
                    sn >>= 1
            else:
                r = node_hash(r, bytes(p))
            fn >>= 1
            sn >>= 1
        return sn == 0 and r == bytes(root)
    except Exception:
        return False


def verify_consistency(
    old_size: int, old_root: bytes, new_size: int, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Check that the tree (``old_size``, ``old_root``) is a prefix of (``new_size``, ``new_root``).

    Degenerate cases: equal sizes need an empty proof and equal roots; an old size of 0
    needs an empty proof and ``old_root == EMPTY_ROOT`` (the empty tree is a prefix of
    every tree).
    """
    try:
        if not (_is_hash(old_root) and _is_hash(new_root)):
            return False
        if not (_is_size(old_size) and _is_size(new_size)) or old_size > new_size:
            return False
        if isinstance(proof, str | bytes | bytearray | memoryview):
            return False
        path = [bytes(p) for p in proof] if all(_is_hash(p) for p in proof) else None
        if path is None:
            return False
        if old_size == new_size:
            return not path and bytes(old_root) == bytes(new_root)
        if old_size == 0:
            return not path and bytes(old_root) == EMPTY_ROOT
        if not path:
            return False
        if old_size & (old_size - 1) == 0:  # exact power of two: old root is a node
            path.insert(0, bytes(old_root))
        fn, sn = old_size - 1, new_size - 1
        while fn & 1:
            fn >>= 1
            sn >>= 1
        fr = sr = path[0]
        for c in path[1:]:
            if sn == 0:
                return False
            if fn & 1 or fn == sn:
                fr = node_hash(c, fr)
                sr = node_hash(c, sr)
                while fn != 0 and not fn & 1:
                    fn >>= 1
                    sn >>= 1
            else:
                sr = node_hash(sr, c)
            fn >>= 1
            sn >>= 1
        return sn == 0 and fr == bytes(old_root) and sr == bytes(new_root)
    except Exception:
        return False


# --------------------------------------------------------------------------------------
# Incremental tree
# --------------------------------------------------------------------------------------


class MerkleTree:
    """Append-only Merkle tree over leaf hashes that keeps every perfect-subtree hash.

    ``_levels[h][i]`` is the hash of the perfect subtree over leaves
    ``[i * 2**h, (i + 1) * 2**h)``; level 0 holds the leaf hashes. Each level is one
    packed ``bytearray`` (32 bytes a hash, no per-object overhead), about 64 bytes per
    leaf in all. Any subtree appearing in the RFC recursion for a tree of size
    ``s <= size`` is a run of at most log(s) perfect subtrees, so roots cost O(log n)
    and proofs O(log^2 n), for the current size or any earlier one.

    Not thread-safe by itself; ``Board`` serialises access.
    """

    def __init__(self, leaves: Iterable[bytes] = ()) -> None:
        self._levels: list[bytearray] = [bytearray()]
        self.extend(leaves)

    def _node(self, level: int, i: int) -> bytes:
        offset = i * HASH_SIZE
        return bytes(self._levels[level][offset : offset + HASH_SIZE])

    @property
    def size(self) -> int:
        """Number of leaves."""
        return len(self._levels[0]) // HASH_SIZE

    def __len__(self) -> int:
        return self.size

    def append(self, leaf_hash: bytes) -> int:
        """Append one leaf hash; return its index."""
        index = self.size
        self.extend((leaf_hash,))
        return index

    def extend(self, leaves: Iterable[bytes]) -> None:
        """Append several leaf hashes in order (all or none if one is malformed)."""
        batch = bytearray()
        for leaf in leaves:
            if not _is_hash(leaf):
                raise ValueError("a leaf hash must be 32 bytes")
            batch += leaf
        if not batch:
            return
        levels = self._levels
        levels[0] += batch
        # Build, level by level, the parents that the new nodes completed.
        h = 0
        while True:
            below = levels[h]
            want = len(below) // (2 * HASH_SIZE)
            if h + 1 == len(levels):
                if want == 0:
                    break
                levels.append(bytearray())
            above = levels[h + 1]
            have = len(above) // HASH_SIZE
            if have == want:
                break
            for offset in range(2 * HASH_SIZE * have, 2 * HASH_SIZE * want, 2 * HASH_SIZE):
                above += _hash_pair(below[offset : offset + 2 * HASH_SIZE])
            h += 1

    def leaf(self, index: int) -> bytes:
        """Leaf hash at ``index``."""
        if not _is_size(index) or index >= self.size:
            raise IndexError(f"leaf index {index!r} out of range for size {self.size}")
        return self._node(0, index)

    # -- internal -----------------------------------------------------------------------

    def _resolve(self, size: int | None) -> int:
        if size is None:
            return self.size
        if not _is_size(size) or size > self.size:
            raise ValueError(f"tree size {size!r} is not in 0..{self.size}")
        return size

    def _hash(self, start: int, end: int) -> bytes:
        """MTH of leaves [start, end), where ``start`` is a multiple of the largest
        power of two <= end - start (true for every subtree of the RFC recursion)."""
        # Split [start, end) into perfect subtrees of decreasing size, then fold from
        # the right: that is exactly the shape of the RFC 6962 recursion.
        parts: list[bytes] = []
        pos = start
        while pos < end:
            h = (end - pos).bit_length() - 1
            parts.append(self._node(h, pos >> h))
            pos += 1 << h
        if not parts:
            return EMPTY_ROOT
        acc = parts[-1]
        for part in reversed(parts[:-1]):
            acc = node_hash(part, acc)
        return acc

    # -- public -------------------------------------------------------------------------

    def root(self, size: int | None = None) -> bytes:
        """Root hash of the tree of the first ``size`` leaves (default: all)."""
        n = self._resolve(size)
        return self._hash(0, n)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """Audit path of leaf ``index`` in the tree of ``size`` leaves (default: all)."""
        n = self._resolve(size)
        if not _is_size(index) or index >= n:
            raise ValueError(f"leaf index {index!r} is not in a tree of size {n}")
        proof: list[bytes] = []
        start, end, m = 0, n, index
        while end - start > 1:
            k = _split(end - start)
            if m < k:
                proof.append(self._hash(start + k, end))
                end = start + k
            else:
                proof.append(self._hash(start, start + k))
                start += k
                m -= k
        proof.reverse()
        return proof

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """Consistency proof from ``old_size`` to ``new_size`` (default: current size)."""
        n = self._resolve(new_size)
        if not _is_size(old_size) or old_size > n:
            raise ValueError(f"old size {old_size!r} is not in 0..{n}")
        if old_size == 0 or old_size == n:
            return []
        proof: list[bytes] = []
        start, end, m, complete = 0, n, old_size, True
        while m != end - start:
            k = _split(end - start)
            if m <= k:
                proof.append(self._hash(start + k, end))
                end = start + k
            else:
                proof.append(self._hash(start, start + k))
                start += k
                m -= k
                complete = False
        if not complete:
            proof.append(self._hash(start, end))
        proof.reverse()
        return proof
