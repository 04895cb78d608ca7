"""Helpers to tamper with a published record, for tests that show a check can fail.

A record is a folder holding ``entries.jsonl`` (one canonical entry a line) and
``checkpoints.jsonl`` (the board's signed checkpoints). The helpers load the entries as
:class:`Entry` values, let a test change them, re-sign what a signature would otherwise
catch first, and write everything back, so that the check under test, not just the
signature checks (V02, V05), is what fails.

Keys come from a :class:`DemoOutcome`, which holds every secret of the demo: the board's
key, the guardians' signing keys, the credential authority's key and every voter's
credential. Nothing here re-encrypts or re-proves a ballot: attacks are built from the
data.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from plebiscite.board.checkpoint import Checkpoint, sign_checkpoint
from plebiscite.board.merkle import MerkleTree, leaf_hash
from plebiscite.crypto.group import Group
from plebiscite.election.clock import SimulatedClock
from plebiscite.election.credentials import credential_key, public_credential
from plebiscite.election.demo import DemoOutcome
from plebiscite.record import codec
from plebiscite.record.canonical import canonical_bytes, loads
from plebiscite.record.entries import Entry, parse_entry, parse_entry_time, sign
from plebiscite.verify.reader import CHECKPOINTS, ENTRIES

# --- reading and writing ---------------------------------------------------------------


def load_entries(record: Path) -> list[Entry]:
    """The record's entries, parsed (the record must be well-formed to start with)."""
    with (Path(record) / ENTRIES).open("rb") as f:
        return [parse_entry(line.rstrip(b"\n")) for line in f]


def write_entries(record: Path, entries: Sequence[Entry | bytes]) -> None:
    """Write entries back: canonical bytes, one a line (raw ``bytes`` are written as is,
    to plant a line that is not a well-formed entry)."""
    lines = [e if isinstance(e, bytes) else e.to_bytes() for e in entries]
    (Path(record) / ENTRIES).write_bytes(b"".join(line + b"\n" for line in lines))


def load_checkpoints(record: Path) -> list[Checkpoint]:
    with (Path(record) / CHECKPOINTS).open("rb") as f:
        return [Checkpoint.from_json(loads(line)) for line in f]


def write_checkpoints(record: Path, checkpoints: Sequence[Checkpoint]) -> None:
    text = b"".join(canonical_bytes(cp.to_json()) + b"\n" for cp in checkpoints)
    (Path(record) / CHECKPOINTS).write_bytes(text)


def entry_bytes(entries: Sequence[Entry | bytes]) -> list[bytes]:
    return [e if isinstance(e, bytes) else e.to_bytes() for e in entries]


def resign_checkpoints(
    record: Path, board_key: Ed25519PrivateKey, entries: Sequence[Entry | bytes] | None = None
) -> list[Checkpoint]:
    """Rebuild ``checkpoints.jsonl`` over the record's current entries (or ``entries``),
    signed with the board's key: for each original checkpoint a new one of the same size
    (clamped to the entry count), origin and time, and always a final one covering every
    entry. Afterwards only the other parties' signatures and the cryptography can catch a
    change to the entries."""
    record = Path(record)
    if entries is None:
        lines = (record / ENTRIES).read_bytes().split(b"\n")[:-1]
    else:
        lines = entry_bytes(entries)
    old = load_checkpoints(record)
    if not old:
        raise ValueError("the record has no checkpoint to take the origin and time from")
    tree = MerkleTree(leaf_hash(line) for line in lines)
    n = tree.size

    def when(size: int, fallback: str) -> str:
        # A consistent forger stamps each checkpoint with the time of the last entry it
        # covers, so that the entry times stay within their checkpoints' times.
        try:
            return str(json.loads(lines[size - 1])["time"]) if size else fallback
        except (ValueError, KeyError, TypeError, IndexError):
            return fallback

    out = []
    for cp in old:
        size = min(cp.size, n)
        out.append(
            sign_checkpoint(board_key, cp.origin, size, tree.root(size), when(size, cp.time))
        )
    if out[-1].size != n:
        last = old[-1]
        out.append(sign_checkpoint(board_key, last.origin, n, tree.root(n), when(n, last.time)))
    write_checkpoints(record, out)
    return out


def save(
    record: Path,
    entries: Sequence[Entry | bytes],
    board_key: Ed25519PrivateKey | None,
    witnesses: dict[str, Ed25519PrivateKey] | None = None,
) -> None:
    """Write the entries and, given the board's key, re-sign the checkpoints over them;
    given the witnesses' keys too, have them cosign the first checkpoints after the open
    and the close and the final one anew, timely (colluding witnesses), so that only the
    other checks can catch the change."""
    write_entries(record, entries)
    if board_key is not None:
        cps = resign_checkpoints(record, board_key)
        if witnesses is not None:
            recosign(record, entry_bytes(entries), cps, witnesses)


def recosign(
    record: Path,
    lines: Sequence[bytes],
    checkpoints: Sequence[Checkpoint],
    witnesses: dict[str, Ed25519PrivateKey],
) -> None:
    from plebiscite.board.cosign import cosign

    targets = []
    for kind in (b"open", b"close"):
        at = [i for i, line in enumerate(lines) if b'"type":"' + kind + b'"' in line]
        first = next((cp for cp in checkpoints if at and cp.size > at[0]), None)
        if first is not None and first not in targets:
            targets.append(first)
    if checkpoints[-1] not in targets:
        targets.append(checkpoints[-1])
    # Timely: each witness's clock reads the checkpoint's own time.
    out = [
        canonical_bytes(cosign(key, wid, cp, cp.time).to_json())
        for cp in targets
        for wid, key in sorted(witnesses.items())
    ]
    (Path(record) / "cosignatures.jsonl").write_bytes(b"".join(x + b"\n" for x in out))


def witness_keys(outcome: DemoOutcome) -> dict[str, Ed25519PrivateKey]:
    return dict(outcome.observer_keys)


# --- keys ------------------------------------------------------------------------------


def election_id(outcome: DemoOutcome) -> str:
    return outcome.organiser.election_id


def group(outcome: DemoOutcome) -> Group:
    return outcome.organiser.group


def board_key(outcome: DemoOutcome) -> Ed25519PrivateKey:
    return outcome.organiser.key


def guardian_key(outcome: DemoOutcome, guardian: str | int) -> Ed25519PrivateKey:
    """A guardian's signing key, by id (``"guardian-2"``) or position in the list."""
    if isinstance(guardian, int):
        return outcome.guardians[guardian].signing_key
    for gd in outcome.guardians:
        if gd.guardian == guardian:
            return gd.signing_key
    raise KeyError(guardian)


def authority_key(outcome: DemoOutcome) -> Ed25519PrivateKey:
    if outcome.authority_key is None:
        raise ValueError("the outcome holds no credential authority key")
    return outcome.authority_key


def voter_key(outcome: DemoOutcome, public: str) -> Ed25519PrivateKey:
    """The credential key of the voter whose public credential is ``public``."""
    eid = election_id(outcome)
    for creds in outcome.credentials.values():
        for c in creds:
            if public_credential(eid, c) == public:
                return credential_key(eid, c)
    raise KeyError(f"no credential of the demo has the public key {public}")


def unused_credentials(outcome: DemoOutcome, entries: Sequence[Entry], region: str) -> list[str]:
    """Listed public credentials of ``region`` that no ballot uses (abstainers)."""
    eid = election_id(outcome)
    used = {e.data.get("credential") for e in entries if e.type == "ballot"}
    pubs = [public_credential(eid, c) for c in outcome.credentials[region]]
    return [p for p in pubs if p not in used]


ORGANISER_TYPES = frozenset({"referendum", "election_context", "open", "close", "tally", "result"})


def owner_key(outcome: DemoOutcome, entry: Entry) -> Ed25519PrivateKey | None:
    """The key of the party that vouches for ``entry`` (None for anonymous entries)."""
    if entry.type in ORGANISER_TYPES:
        return board_key(outcome)
    if entry.type.startswith("guardian_") or entry.type == "decryption_share":
        return guardian_key(outcome, str(entry.data["guardian"]))
    if entry.type == "credential_list":
        return authority_key(outcome)
    if entry.type == "ballot":
        return voter_key(outcome, str(entry.data["credential"]))
    return None


# --- changing entries ------------------------------------------------------------------


def resign(
    entry: Entry,
    key: Ed25519PrivateKey | None,
    election: str,
    data: dict[str, Any] | None = None,
) -> Entry:
    """``entry`` (with ``data`` if given) signed afresh by ``key``, at the same time.

    The referendum entry is signed under the empty election id, as the board does."""
    eid = "" if entry.type == "referendum" else election
    return sign(entry.type, entry.data if data is None else data, eid, key).at(entry.time)


def resign_as_owner(
    outcome: DemoOutcome, entry: Entry, data: dict[str, Any] | None = None
) -> Entry:
    """``entry`` (with ``data`` if given) re-signed by the party that vouches for it."""
    return resign(entry, owner_key(outcome, entry), election_id(outcome), data)


def retime(entry: Entry, time: str) -> Entry:
    """The same entry at another time (only the board's checkpoints vouch for time)."""
    return dataclasses.replace(entry, time=time)


def flip_signature(entry: Entry, byte: int = 0) -> Entry:
    """The same entry with one byte of its signature flipped (still canonical base64)."""
    if entry.signature is None:
        raise ValueError("the entry is not signed")
    sig = bytearray(base64.b64decode(entry.signature))
    sig[byte] ^= 0x01
    return dataclasses.replace(entry, signature=base64.b64encode(bytes(sig)).decode())


def fix_indices(outcome: DemoOutcome, entries: Sequence[Entry]) -> list[Entry]:
    """After inserting or removing entries: the organiser's and guardians' entries that
    name an index (close, tally, decryption shares, result) restated and re-signed, so
    only the change itself can be caught."""
    out = list(entries)
    for i, e, d in index_restatements(out):
        out[i] = resign_as_owner(outcome, e, d)
    return out


def index_restatements(
    entries: Sequence[Entry],
) -> Iterator[tuple[int, Entry, dict[str, Any]]]:
    """The entries that name an index (close, tally, decryption shares, result) whose
    data no longer matches the log, each with the data it should have."""
    close = next((i for i, e in enumerate(entries) if e.type == "close"), None)
    tally = next((i for i, e in enumerate(entries) if e.type == "tally"), None)
    ballots = 0
    for i, e in enumerate(entries):
        d = dict(e.data)
        if e.type == "close":
            d = {"ballots": ballots, "size": i}
        elif e.type == "tally" and close is not None:
            d["close_index"] = close
        elif e.type in ("decryption_share", "result") and tally is not None:
            d["tally_index"] = tally
        ballots += e.type == "ballot"
        if d != e.data:
            yield i, e, d


def bump_scalar(g: Group, text: str) -> str:
    """A canonical scalar one more than ``text`` (mod q)."""
    return codec.scalar_hex(g, (codec.scalar(g, text) + 1) % g.q)


def other_element(g: Group, text: str) -> str:
    """A canonical group element other than ``text`` (it times the generator)."""
    return g.mul(codec.element(g, text), g.generator()).hex()


def indices_of(entries: Sequence[Entry], type_: str) -> list[int]:
    return [i for i, e in enumerate(entries) if e.type == type_]


# --- restating what follows a change (issue 7's known attacks) ----------------------------


def recount(
    outcome: DemoOutcome, entries: Sequence[Entry], tally: dict[str, Any] | None = None
) -> list[Entry]:
    """After ballots were added, removed or changed: the close, tally, decryption shares
    and result restated as a colluding organiser and guardians would. The tally is the
    product of the counted ballots (or ``tally``, the data of another tally entry), the
    guardians that decrypted before decrypt it afresh, with valid proofs, and the result
    holds the counts their shares give; each entry re-signed by its party. What is left
    for the verifier to catch is the attack itself."""
    from plebiscite.crypto import threshold
    from plebiscite.election.tally import compute_tally, tally_to_json

    out = fix_indices(outcome, entries)
    tallies = indices_of(out, "tally")
    if not tallies:
        return out
    g, m = group(outcome), outcome.organiser.manifest
    ti = tallies[0]
    data = tally_to_json(compute_tally(g, m, out)) if tally is None else tally
    out[ti] = resign_as_owner(outcome, out[ti], data)
    cts = {
        r: {q: {s: codec.ct_from_json(g, c) for s, c in sl.items()} for q, sl in qs.items()}
        for r, qs in data["regions"].items()
    }
    ctx = bytes.fromhex(out[indices_of(out, "election_context")[0]].data["context_hash"])
    by_id = {gd.guardian: gd for gd in outcome.guardians}
    shares: dict[str, Any] = {}
    for i in indices_of(out, "decryption_share"):
        gid = str(out[i].data["guardian"])
        d = by_id[gid].decryption_data(ctx, cts, ti)
        out[i] = resign_as_owner(outcome, out[i], d)
        shares[gid] = d["shares"]
    for i in indices_of(out, "result"):
        used = list(out[i].data["guardians"])
        present = [by_id[u].index for u in used]
        lam = {u: threshold.lagrange_at_zero(g, by_id[u].index, present) for u in used}
        bound = 2 * len(indices_of(out, "ballot")) + 2
        counts: dict[str, Any] = {}
        for r, qs in cts.items():
            for q, sl in qs.items():
                for s, ct in sl.items():
                    combined = g.prod(
                        g.pow(codec.element(g, shares[u][r][q][s]["share"]), lam[u]) for u in used
                    )
                    counts.setdefault(r, {}).setdefault(q, {})[s] = g.dlog(
                        g.div(ct.beta, combined), bound
                    )
        d = {"tally_index": ti, "guardians": used, "counts": counts}
        out[i] = resign_as_owner(outcome, out[i], d)
    return out


def encrypt_ballot_with_nonces(
    g: Group,
    manifest: Any,
    context: bytes,
    key: Any,
    region: str,
    choices: dict[str, list[str]],
    credential: str,
    nonces: dict[str, list[int]],
    replaces: str | None = None,
) -> dict[str, Any]:
    """A ballot's data as the booth makes it, but with the ciphertexts' nonces given
    (``nonces[question]``, one per slot) instead of drawn: what a booth that reuses
    randomness produces. The proofs are valid; the data is not signed."""
    from plebiscite.crypto.elgamal import encrypt
    from plebiscite.crypto.proofs import prove_range
    from plebiscite.record import protocol as p

    answers, for_code = [], []
    for q in manifest.region_questions(region):
        chosen = list(choices.get(q.id, []))
        rs, cts, slots = nonces[q.id], [], []
        for slot, r in zip(q.slots, rs, strict=True):
            v = 1 if slot in chosen else 0
            ct = encrypt(g, key, v, r)
            bind = p.option_bind(credential, region, q.id, slot)
            proof = prove_range(g, p.TAG_OPTION, context, key, ct, r, v, [0, 1], bind)
            cts.append(ct)
            slots.append({**codec.ct_to_json(ct), "proof": codec.range_to_json(g, proof)})
        total = p.question_total(g, q, cts)
        r_total = sum(r * (q.max if s == "blank" else 1) for r, s in zip(rs, q.slots, strict=True))
        qproof = prove_range(
            g,
            p.TAG_QUESTION,
            context,
            key,
            total,
            r_total % g.q,
            p.question_total_value(q, chosen),
            p.question_values(q),
            p.question_bind(credential, region, q.id),
        )
        answers.append(
            {"question": q.id, "choices": slots, "proof": codec.range_to_json(g, qproof)}
        )
        for_code.append((q.id, cts))
    return {
        "region": region,
        "credential": credential,
        "answers": answers,
        "tracking_code": p.tracking_code(context, region, for_code),
        "replaces": replaces,
    }


def relink(outcome: DemoOutcome, entries: list[Entry], old_code: str, new_code: str) -> None:
    """After a ballot's tracking code changed from ``old_code`` to ``new_code``: the
    revote that replaced it now replaces ``new_code`` (re-signed by its voter), so the
    revote chain still holds and only the change itself is at stake."""
    if old_code == new_code:
        return
    for j, e in enumerate(entries):
        if e.type == "ballot" and e.data.get("replaces") == old_code:
            entries[j] = resign_as_owner(outcome, e, {**e.data, "replaces": new_code})


def chain_head(entries: Sequence[Entry], credential: str, before: int | None = None) -> str | None:
    """The head of ``credential``'s revote chain among ``entries[:before]``: what a ballot
    inserted there must replace to extend it."""
    from plebiscite.record.protocol import RevoteChains

    chains = RevoteChains()
    for e in entries[:before]:
        if e.type == "ballot" and e.data.get("credential") == credential:
            chains.extend(credential, e.data.get("replaces"), str(e.data["tracking_code"]))
    return chains.head(credential)


def clock_at(record: Path) -> SimulatedClock:
    """A witness's clock that reads the record's latest checkpoint time: a witness of a
    recorded board (made on the demo's simulated clock) on that board's own time."""
    return SimulatedClock(parse_entry_time(load_checkpoints(record)[-1].time))


def latest_time(record: Path) -> str:
    return load_checkpoints(record)[-1].time
