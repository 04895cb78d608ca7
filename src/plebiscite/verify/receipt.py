"""Checking a voter's receipt: is my ballot on the board everyone sees?

A receipt holds the ballot's tracking code, its index, the hash of its entry, a signed
checkpoint and the inclusion proof under it. It holds up when the checkpoint is the
board's, the proof puts the entry under the checkpoint's root, the board still has that
entry at that index, and the board's latest checkpoint is consistent with the
receipt's (the board did not rewrite history since). A ballot on the board counts only if
it extends its credential's revote chain (:func:`receipt_off_chain`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from plebiscite.board.checkpoint import Checkpoint, verify_checkpoint
from plebiscite.board.cosign import parse_cosignatures, trusted_by
from plebiscite.board.merkle import leaf_hash, verify_consistency, verify_inclusion
from plebiscite.record.canonical import CanonicalError, loads
from plebiscite.record.manifest import max_skew_s, parse_manifest, quorum_witnesses, witness_quorum


class ReceiptError(ValueError):
    """The receipt file is not a receipt."""


def parse_receipt(data: Any) -> tuple[dict[str, Any], Checkpoint, list[bytes]]:
    need = {"type", "tracking_code", "index", "entry_hash", "checkpoint", "inclusion_proof"}
    if not isinstance(data, dict) or not need <= set(data):
        raise ReceiptError(f"a receipt has the keys {', '.join(sorted(need))}")
    try:
        cp = Checkpoint.from_json(data["checkpoint"])
        proof = [bytes.fromhex(h) for h in data["inclusion_proof"]]
        bytes.fromhex(data["entry_hash"])
    except (ValueError, TypeError) as exc:
        raise ReceiptError(f"malformed receipt: {exc}") from exc
    if not isinstance(data["index"], int) or data["index"] < 0:
        raise ReceiptError("malformed receipt: index")
    return data, cp, proof


def receipt_election(data: dict[str, Any]) -> str | None:
    """The election id a receipt names (None for a receipt that names none)."""
    eid = data.get("election_id")
    if eid is None:
        return None
    if not isinstance(eid, str) or len(eid) != 64 or any(c not in "0123456789abcdef" for c in eid):
        raise ReceiptError("malformed receipt: election_id is not an election id (64 hex digits)")
    return eid


def latest_witnessed(
    referendum: dict[str, Any], checkpoints: Sequence[Checkpoint], cosignatures: list[bytes]
) -> Checkpoint | None:
    """The latest checkpoint a receipt may rely on: the latest one or, when the
    referendum sets a witness quorum, the latest one that quorum of the witnesses its
    referendum file declares cosigned in time (None when there is none). The referendum
    is the one the receipt's election id names, so a board cannot bring witnesses of its
    own: accreditations on the board could be forked, the referendum file cannot."""
    manifest = parse_manifest(referendum["manifest"])
    quorum = witness_quorum(manifest)
    if quorum == 0:
        return checkpoints[-1] if checkpoints else None
    declared, skew = quorum_witnesses(manifest), max_skew_s(manifest)
    cosigs = parse_cosignatures(cosignatures)
    trusted = [cp for cp in checkpoints if len(trusted_by(cp, cosigs, declared, skew)) >= quorum]
    return trusted[-1] if trusted else None


def check_receipt(
    receipt: dict[str, Any],
    board_key: bytes,
    entry: bytes | None,
    latest: Checkpoint,
    consistency: Sequence[bytes],
) -> list[str]:
    """Problems with a receipt against a board (empty when it holds up)."""
    data, cp, proof = parse_receipt(receipt)
    index = int(data["index"])
    entry_hash = bytes.fromhex(data["entry_hash"])
    problems = []
    if not verify_checkpoint(cp, board_key):
        problems.append("the receipt's checkpoint is not signed by this board")
    if not verify_inclusion(entry_hash, index, cp.size, proof, cp.root):
        problems.append("the inclusion proof does not put the ballot under the checkpoint")
    if entry is None:
        problems.append(f"the board has no entry {index}")
    elif leaf_hash(entry) != entry_hash:
        problems.append(f"the board's entry {index} is not the receipt's ballot")
    else:
        try:
            code = loads(entry)["data"].get("tracking_code")
        except (CanonicalError, KeyError, TypeError, AttributeError):
            code = None
        if code != data["tracking_code"]:
            problems.append("the entry's tracking code differs from the receipt's")
    if not verify_checkpoint(latest, board_key):
        problems.append("the board's latest checkpoint is not signed by the board")
    elif latest.origin != cp.origin:
        problems.append("the receipt comes from another board")
    elif latest.size < cp.size or not verify_consistency(
        cp.size, cp.root, latest.size, latest.root, consistency
    ):
        problems.append("the board's latest checkpoint is not consistent with the receipt's")
    return problems


def receipt_off_chain(entries: Sequence[bytes], index: int) -> str | None:
    """Why the ballot at ``index`` of ``entries`` is not counted although on the board: it
    does not extend its credential's revote chain (a board that appended a ballot the
    intake refuses as stale). None when it does, or when the entry is not a ballot."""
    from plebiscite.verify.chain import NOT_IN_CHAIN, credential_of_ballot, follow_chain

    if index >= len(entries):
        return None
    credential = credential_of_ballot(entries[index])
    if credential is None:
        return None
    if index in follow_chain(entries[: index + 1], credential).off_chain:
        return f"{NOT_IN_CHAIN} (entry {index})"
    return None
