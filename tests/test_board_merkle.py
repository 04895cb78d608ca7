"""Merkle tree: shared known-answer vectors, properties, tampering."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plebiscite.board import merkle
from plebiscite.board.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)

VECTORS_PATH = Path(__file__).parent / "vectors" / "merkle.json"
VECTORS: dict[str, Any] = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))

# Published by the Certificate Transparency reference implementation for the same leaf
# data; pinned here so that regenerating the vectors file with a bug cannot go unnoticed.
CT_ROOT_8 = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
CT_ROOT_1 = "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"

VECTOR_LEAVES = [bytes.fromhex(leaf["leaf_hash"]) for leaf in VECTORS["leaves"]]


def h(s: str) -> bytes:
    return bytes.fromhex(s)


def hs(items: list[str]) -> list[bytes]:
    return [bytes.fromhex(s) for s in items]


def make_leaves(n: int) -> list[bytes]:
    return [leaf_hash(b"entry %d" % i) for i in range(n)]


def flip(b: bytes, bit: int) -> bytes:
    out = bytearray(b)
    out[(bit // 8) % len(out)] ^= 1 << (bit % 8)
    return bytes(out)


# ----------------------------------------------------------------------------- vectors


def test_vectors_hashing() -> None:
    assert VECTORS["hash"] == "sha256"
    assert EMPTY_ROOT.hex() == VECTORS["empty_root"]
    for leaf in VECTORS["leaves"]:
        assert leaf_hash(h(leaf["data"])).hex() == leaf["leaf_hash"]
    for case in VECTORS["node_hash"]:
        assert node_hash(h(case["left"]), h(case["right"])).hex() == case["hash"]


def test_vectors_roots() -> None:
    roots = {r["size"]: r["root"] for r in VECTORS["roots"]}
    assert sorted(roots) == list(range(9))
    assert roots[0] == EMPTY_ROOT.hex()
    assert roots[1] == CT_ROOT_1
    assert roots[8] == CT_ROOT_8
    tree = MerkleTree()
    assert tree.root().hex() == roots[0]
    for n in range(1, 9):
        assert tree.append(VECTOR_LEAVES[n - 1]) == n - 1
        assert tree.root().hex() == roots[n]
    for n, root in roots.items():
        assert root_from_leaf_hashes(VECTOR_LEAVES[:n]).hex() == root
        assert tree.root(n).hex() == root


def test_vectors_inclusion() -> None:
    tree = MerkleTree(VECTOR_LEAVES)
    assert len(VECTORS["inclusion"]) == 36  # every (index, size) with size <= 8
    for case in VECTORS["inclusion"]:
        i, n = case["index"], case["size"]
        proof = hs(case["proof"])
        assert inclusion_proof(VECTOR_LEAVES, i, n) == proof
        assert tree.inclusion_proof(i, n) == proof
        assert case["leaf_hash"] == VECTOR_LEAVES[i].hex()
        assert verify_inclusion(h(case["leaf_hash"]), i, n, proof, h(case["root"]))


def test_vectors_consistency() -> None:
    tree = MerkleTree(VECTOR_LEAVES)
    assert len(VECTORS["consistency"]) == 45  # every 0 <= old <= new <= 8
    for case in VECTORS["consistency"]:
        m, n = case["old_size"], case["new_size"]
        proof = hs(case["proof"])
        assert consistency_proof(VECTOR_LEAVES, m, n) == proof
        assert tree.consistency_proof(m, n) == proof
        assert verify_consistency(m, h(case["old_root"]), n, h(case["new_root"]), proof)


@pytest.mark.parametrize("case", VECTORS["invalid_inclusion"], ids=lambda c: str(c["description"]))
def test_vectors_invalid_inclusion(case: dict[str, Any]) -> None:
    assert not verify_inclusion(
        h(case["leaf_hash"]), case["index"], case["size"], hs(case["proof"]), h(case["root"])
    )


@pytest.mark.parametrize(
    "case", VECTORS["invalid_consistency"], ids=lambda c: str(c["description"])
)
def test_vectors_invalid_consistency(case: dict[str, Any]) -> None:
    assert not verify_consistency(
        case["old_size"],
        h(case["old_root"]),
        case["new_size"],
        h(case["new_root"]),
        hs(case["proof"]),
    )


# -------------------------------------------------------------------------- properties


@st.composite
def tree_and_index(draw: st.DrawFn) -> tuple[list[bytes], int, int]:
    total = draw(st.integers(min_value=1, max_value=140))
    size = draw(st.integers(min_value=1, max_value=total))
    index = draw(st.integers(min_value=0, max_value=size - 1))
    return make_leaves(total), index, size


@st.composite
def tree_and_sizes(draw: st.DrawFn) -> tuple[list[bytes], int, int]:
    total = draw(st.integers(min_value=0, max_value=140))
    new = draw(st.integers(min_value=0, max_value=total))
    old = draw(st.integers(min_value=0, max_value=new))
    return make_leaves(total), old, new


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=40), max_size=8))
def test_tree_roots_agree_with_reference(chunks: list[int]) -> None:
    """Any mix of appends and chunked extends gives the reference roots at every size."""
    total = sum(chunks)
    leaves = make_leaves(total)
    tree = MerkleTree()
    pos = 0
    for chunk in chunks:
        if chunk == 1:
            assert tree.append(leaves[pos]) == pos
        else:
            tree.extend(leaves[pos : pos + chunk])
        pos += chunk
        assert tree.size == pos
        assert tree.root() == root_from_leaf_hashes(leaves[:pos])
    for n in {0, total // 3, total // 2, total}:
        assert tree.root(n) == root_from_leaf_hashes(leaves[:n])
    assert [tree.leaf(i) for i in range(total)] == leaves


@settings(max_examples=200, deadline=None)
@given(tree_and_index(), st.data())
def test_inclusion_property(args: tuple[list[bytes], int, int], data: st.DataObject) -> None:
    leaves, index, size = args
    tree = MerkleTree(leaves)
    root = tree.root(size)
    proof = tree.inclusion_proof(index, size)
    assert proof == inclusion_proof(leaves, index, size)
    assert verify_inclusion(leaves[index], index, size, proof, root)
    if size == tree.size:
        assert tree.inclusion_proof(index) == proof

    # tampered proof, leaf or root
    if proof:
        k = data.draw(st.integers(0, len(proof) - 1), label="element")
        bit = data.draw(st.integers(0, 255), label="bit")
        bad = list(proof)
        bad[k] = flip(bad[k], bit)
        assert not verify_inclusion(leaves[index], index, size, bad, root)
        assert not verify_inclusion(leaves[index], index, size, proof[:-1], root)
    assert not verify_inclusion(flip(leaves[index], 3), index, size, proof, root)
    assert not verify_inclusion(leaves[index], index, size, proof, flip(root, 200))
    assert not verify_inclusion(leaves[index], index, size, [*proof, root], root)
    assert not verify_inclusion(leaves[index], index, size, [leaves[index], *proof], root)

    # wrong index, index out of range
    if size > 1:
        other = data.draw(st.integers(0, size - 1).filter(lambda j: j != index), label="j")
        assert not verify_inclusion(leaves[index], other, size, proof, root)
        assert not verify_inclusion(leaves[other], other, size, proof, root)
    assert not verify_inclusion(leaves[index], size, size, proof, root)
    assert not verify_inclusion(leaves[index], -1, size, proof, root)

    # wrong size, against the root of the claimed size
    if len(leaves) > index + 1:
        wrong = data.draw(
            st.integers(index + 1, len(leaves)).filter(lambda n: n != size), label="wrong"
        )
        assert not verify_inclusion(leaves[index], index, wrong, proof, tree.root(wrong))


@settings(max_examples=200, deadline=None)
@given(tree_and_sizes(), st.data())
def test_consistency_property(args: tuple[list[bytes], int, int], data: st.DataObject) -> None:
    leaves, old, new = args
    tree = MerkleTree(leaves)
    old_root, new_root = tree.root(old), tree.root(new)
    proof = tree.consistency_proof(old, new)
    assert proof == consistency_proof(leaves, old, new)
    assert verify_consistency(old, old_root, new, new_root, proof)
    if new == tree.size:
        assert tree.consistency_proof(old) == proof

    if old in (0, new):
        assert proof == []
    else:
        assert proof
        k = data.draw(st.integers(0, len(proof) - 1), label="element")
        bit = data.draw(st.integers(0, 255), label="bit")
        bad = list(proof)
        bad[k] = flip(bad[k], bit)
        assert not verify_consistency(old, old_root, new, new_root, bad)
        assert not verify_consistency(old, old_root, new, new_root, proof[:-1])
        assert not verify_consistency(old, old_root, new, new_root, proof[1:])
        assert not verify_consistency(old, old_root, new, new_root, [*proof, new_root])
        assert not verify_consistency(old, flip(old_root, 9), new, new_root, proof)
        assert not verify_consistency(old, old_root, new, flip(new_root, 9), proof)
        assert not verify_consistency(new, new_root, old, old_root, proof)
        # claimed old size differs from the one the proof was made for
        other = data.draw(st.integers(1, new).filter(lambda m: m != old), label="other")
        if other != new:
            assert not verify_consistency(other, tree.root(other), new, new_root, proof)
    # an extra hash never turns a valid proof into another valid one
    assert not verify_consistency(old, old_root, new, new_root, [*proof, old_root, new_root])


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 100), st.integers(0, 100))
def test_old_sizes_keep_their_roots_and_proofs(first: int, more: int) -> None:
    """Proofs for an earlier size stay the same as the tree grows."""
    leaves = make_leaves(first + more)
    tree = MerkleTree(leaves[:first])
    root = tree.root()
    proofs = [tree.inclusion_proof(i) for i in range(first)]
    tree.extend(leaves[first:])
    assert tree.root(first) == root
    assert [tree.inclusion_proof(i, first) for i in range(first)] == proofs
    proof = tree.consistency_proof(first)
    assert verify_consistency(first, root, tree.size, tree.root(), proof)


# ------------------------------------------------------------------------ edge cases


def test_degenerate_consistency() -> None:
    leaves = make_leaves(8)
    r4, r5 = root_from_leaf_hashes(leaves[:4]), root_from_leaf_hashes(leaves[:5])
    assert verify_consistency(4, r4, 4, r4, [])
    assert not verify_consistency(4, r4, 4, r5, [])
    assert not verify_consistency(4, r4, 4, r4, [r4])
    assert verify_consistency(0, EMPTY_ROOT, 5, r5, [])
    assert verify_consistency(0, EMPTY_ROOT, 0, EMPTY_ROOT, [])
    assert not verify_consistency(0, EMPTY_ROOT, 5, r5, [r5])
    assert not verify_consistency(0, r4, 5, r5, [])


JUNK: list[object] = [None, "", "ab", 1.5, b"\x00" * 31, b"\x00" * 33, [b"\x00" * 32], True]


def test_verifiers_never_raise() -> None:
    leaves = make_leaves(5)
    tree = MerkleTree(leaves)
    proof, root = tree.inclusion_proof(2), tree.root()
    cproof, old_root = tree.consistency_proof(3), tree.root(3)
    assert verify_inclusion(leaves[2], 2, 5, proof, root)
    assert verify_consistency(3, old_root, 5, root, cproof)
    for junk in JUNK:
        args_i: list[list[Any]] = [
            [junk, 2, 5, proof, root],
            [leaves[2], junk, 5, proof, root],
            [leaves[2], 2, junk, proof, root],
            [leaves[2], 2, 5, junk, root],
            [leaves[2], 2, 5, [*proof[:-1], junk], root],
            [leaves[2], 2, 5, proof, junk],
        ]
        for a in args_i:
            assert verify_inclusion(*a) is False
        args_c: list[list[Any]] = [
            [junk, old_root, 5, root, cproof],
            [3, junk, 5, root, cproof],
            [3, old_root, junk, root, cproof],
            [3, old_root, 5, junk, cproof],
            [3, old_root, 5, root, junk],
            [3, old_root, 5, root, [*cproof[:-1], junk]],
        ]
        for a in args_c:
            assert verify_consistency(*a) is False
    assert verify_inclusion(leaves[0], 0, 0, [], EMPTY_ROOT) is False
    assert verify_inclusion(leaves[0], 0, 2**70, [root] * 70, root) is False
    assert verify_consistency(-1, EMPTY_ROOT, 5, root, []) is False


def test_generators_reject_bad_arguments() -> None:
    leaves = make_leaves(5)
    tree = MerkleTree(leaves)
    calls: list[Callable[[], object]] = [
        lambda: inclusion_proof(leaves, 5, 5),
        lambda: inclusion_proof(leaves, -1, 5),
        lambda: inclusion_proof(leaves, 0, 6),
        lambda: inclusion_proof(leaves, 0, 0),
        lambda: consistency_proof(leaves, 4, 3),
        lambda: consistency_proof(leaves, 0, 6),
        lambda: consistency_proof(leaves, -1, 3),
        lambda: tree.root(6),
        lambda: tree.root(-1),
        lambda: tree.inclusion_proof(5),
        lambda: tree.inclusion_proof(3, 3),
        lambda: tree.consistency_proof(6),
        lambda: tree.consistency_proof(4, 3),
        lambda: tree.append(b"short"),
    ]
    for bad in calls:
        with pytest.raises(ValueError):
            bad()
    with pytest.raises(ValueError):
        tree.extend([leaf_hash(b"x"), b"short"])
    assert tree.size == 5  # a rejected extend appends nothing
    with pytest.raises(IndexError):
        tree.leaf(5)
    assert tree.leaf(4) == leaves[4]
    assert len(tree) == 5


def test_tree_work_is_polylogarithmic(monkeypatch: pytest.MonkeyPatch) -> None:
    """Roots and proofs of any size are computed from stored subtrees, not leaves."""
    n = 5000
    tree = MerkleTree(make_leaves(n))
    calls = 0
    real = merkle.node_hash

    def counting(left: bytes, right: bytes) -> bytes:
        nonlocal calls
        calls += 1
        return real(left, right)

    monkeypatch.setattr(merkle, "node_hash", counting)
    log_n = n.bit_length()
    for size in (1, 2, 3, 1000, 4095, 4096, 4097, n - 1, n):
        calls = 0
        tree.root(size)
        assert calls <= log_n
        for index in (0, size // 2, size - 1):
            calls = 0
            tree.inclusion_proof(index, size)
            assert calls <= log_n * log_n
        for old in (1, size // 3, size - 1):
            if 0 < old < size:
                calls = 0
                tree.consistency_proof(old, size)
                assert calls <= log_n * log_n
