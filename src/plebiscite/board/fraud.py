"""Fraud proofs: self-contained evidence that a board signed two histories.

Two checkpoints signed with one board key, of one origin, are a fork when they cannot
both be views of one append-only log: the same size with different roots, or an entry
index below both sizes where inclusion proofs put different entries under the two
roots. Anyone can check such a proof with nothing but the proof itself.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from plebiscite.board.checkpoint import Checkpoint, verify_checkpoint
from plebiscite.board.merkle import leaf_hash, verify_inclusion

KIND = "plebiscite-fraud-proof/v1"


class FraudProofError(ValueError):
    """The file is not a fraud proof (unusable input)."""


def make_fraud_proof(
    board_key: bytes,
    a: Checkpoint,
    b: Checkpoint,
    evidence: tuple[int, bytes, list[bytes], bytes, list[bytes]] | None = None,
) -> dict[str, Any]:
    """``evidence`` = (index, entry under a, proof in a, entry under b, proof in b)."""
    proof: dict[str, Any] = {
        "kind": KIND,
        "board_key": base64.b64encode(board_key).decode(),
        "a": a.to_json(),
        "b": b.to_json(),
        "evidence": None,
    }
    if evidence is not None:
        index, entry_a, proof_a, entry_b, proof_b = evidence
        proof["evidence"] = {
            "index": index,
            "entry_a": base64.b64encode(entry_a).decode(),
            "proof_a": [h.hex() for h in proof_a],
            "entry_b": base64.b64encode(entry_b).decode(),
            "proof_b": [h.hex() for h in proof_b],
        }
    return proof


def check_fraud_proof(proof: Any) -> str | None:
    """Why the proof does not prove a fork (None when it does)."""
    if not isinstance(proof, dict) or proof.get("kind") != KIND:
        raise FraudProofError(f"not a fraud proof (kind must be {KIND!r})")
    try:
        key = base64.b64decode(proof["board_key"], validate=True)
        a = Checkpoint.from_json(proof["a"])
        b = Checkpoint.from_json(proof["b"])
    except (KeyError, ValueError, TypeError, binascii.Error) as exc:
        raise FraudProofError(f"malformed fraud proof: {exc}") from exc
    if not verify_checkpoint(a, key) or not verify_checkpoint(b, key):
        return "a checkpoint is not signed by the board key"
    if a.origin != b.origin:
        return "the checkpoints belong to different logs"
    if a.size == b.size:
        return None if a.root != b.root else "the checkpoints are the same"
    ev = proof.get("evidence")
    if not isinstance(ev, dict):
        return "checkpoints of different sizes need evidence (an entry both include differently)"
    try:
        index = ev["index"]
        ea = base64.b64decode(ev["entry_a"], validate=True)
        eb = base64.b64decode(ev["entry_b"], validate=True)
        pa = [bytes.fromhex(h) for h in ev["proof_a"]]
        pb = [bytes.fromhex(h) for h in ev["proof_b"]]
    except (KeyError, ValueError, TypeError, binascii.Error) as exc:
        raise FraudProofError(f"malformed evidence: {exc}") from exc
    if not isinstance(index, int) or not 0 <= index < min(a.size, b.size):
        return "the evidence's index is not below both sizes"
    if leaf_hash(ea) == leaf_hash(eb):
        return "the evidence shows the same entry in both"
    if not verify_inclusion(leaf_hash(ea), index, a.size, pa, a.root):
        return "the first inclusion proof fails"
    if not verify_inclusion(leaf_hash(eb), index, b.size, pb, b.root):
        return "the second inclusion proof fails"
    return None


def proof_board_problem(proof: dict[str, Any], board_key: bytes, origin: str) -> str | None:
    """Why a fraud proof (well-formed, as ``check_fraud_proof`` read it) is not about the
    board with ``board_key`` and ``origin`` (None when it is). The proof carries its own
    board key, so anyone can make a "valid" one with a key of their own: it proves a fork
    of a referendum's board only when its key and origin are that board's."""
    if proof.get("board_key") != base64.b64encode(board_key).decode():
        return "its board key is not this board's"
    origins = {proof["a"].get("origin"), proof["b"].get("origin")}
    if origins != {origin}:
        return "its checkpoints are not of this board's log (origin)"
    return None
