"""A guardian's side of the key ceremony and of decryption.

Each step reads what the board holds and returns the data of the guardian's next
entry; the guardian's secrets live in its own state file, never on the board. Steps:

1. ``key_data``: commitments to a random polynomial, with a Schnorr proof for each
   coefficient (so no guardian can pick its key as a function of the others': no
   rogue keys), and an X25519 key for receiving shares.
2. ``shares_data``: the polynomial's value at each other guardian, encrypted to it.
3. ``ready_data``: decrypt and check every share addressed to us against its sender's
   commitments, sum them into our share of the joint key, prove we hold it.
4. ``decrypt``: recompute the tally from the board, check it equals the posted tally
   entry that follows the close entry, and only then publish partial decryptions.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from plebiscite.crypto import threshold
from plebiscite.crypto.group import Group, get_group
from plebiscite.crypto.proofs import prove_equality, prove_schnorr
from plebiscite.election.keys import key_from_seed, seed_of
from plebiscite.record import codec
from plebiscite.record.canonical import json_equal
from plebiscite.record.entries import EntryError, b64decode
from plebiscite.record.manifest import Manifest, guardian_ids
from plebiscite.record.protocol import (
    TAG_COEFFICIENT,
    TAG_DECRYPTION,
    TAG_SHARE_ENC,
    TAG_SHARE_KEY,
    coefficient_bind,
    decryption_bind,
)
from plebiscite.record.vocab import (
    GuardianKey,
    guardian_key_problems,
    parse_guardian_key,
    parse_guardian_shares,
)
from plebiscite.verify.checked import BEFORE_DECRYPTION, CheckedBoard, Refused, check_board
from plebiscite.verify.reader import RawRecord


class CeremonyError(RuntimeError):
    """A guardian refuses to go on (bad proof, bad share, wrong tally...)."""


def _x25519_pub(key: X25519PrivateKey) -> str:
    return base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def _share_key(shared: bytes, election_id: str, sender: str, receiver: str) -> bytes:
    info = f"{TAG_SHARE_ENC}\n{election_id}\n{sender}\n{receiver}".encode()
    return HKDF(hashes.SHA256(), 32, None, info).derive(shared)


@dataclass
class Guardian:
    election_id: str
    group_name: str
    guardian: str
    index: int
    quorum: int
    signing_key: Ed25519PrivateKey
    encryption_key: X25519PrivateKey
    coefficients: list[int]
    received: dict[str, int] = field(default_factory=dict)
    share: int | None = None
    # The data of the entries this guardian made, by type: each later step checks that
    # the board holds them unchanged.
    posted: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The referendum, from the checked board (not kept in the state: the election id,
    # which is, binds it).
    manifest: Manifest | None = field(default=None, repr=False, compare=False)

    @property
    def group(self) -> Group:
        return get_group(self.group_name)

    @classmethod
    def create(
        cls,
        election_id: str,
        group_name: str,
        guardian: str,
        index: int,
        quorum: int,
        signing_key: Ed25519PrivateKey | None = None,
        manifest: Manifest | None = None,
    ) -> Guardian:
        group = get_group(group_name)
        return cls(
            election_id,
            group_name,
            guardian,
            index,
            quorum,
            signing_key or Ed25519PrivateKey.generate(),
            X25519PrivateKey.generate(),
            threshold.random_polynomial(group, quorum - 1),
            manifest=manifest,
        )

    # -- state file -------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        g = self.group
        return {
            "kind": "plebiscite guardian secret state",
            "election_id": self.election_id,
            "group": self.group_name,
            "guardian": self.guardian,
            "index": self.index,
            "quorum": self.quorum,
            "signing_key": seed_of(self.signing_key),
            "encryption_key": base64.b64encode(
                self.encryption_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
            ).decode(),
            "coefficients": [codec.scalar_hex(g, a) for a in self.coefficients],
            "received": {k: codec.scalar_hex(g, v) for k, v in self.received.items()},
            "share": None if self.share is None else codec.scalar_hex(g, self.share),
            "posted": self.posted,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Guardian:
        g = get_group(d["group"])
        return cls(
            d["election_id"],
            d["group"],
            d["guardian"],
            int(d["index"]),
            int(d["quorum"]),
            key_from_seed(d["signing_key"]),
            X25519PrivateKey.from_private_bytes(base64.b64decode(d["encryption_key"])),
            [codec.scalar(g, a) for a in d["coefficients"]],
            {k: codec.scalar(g, v) for k, v in d["received"].items()},
            None if d["share"] is None else codec.scalar(g, d["share"]),
            dict(d.get("posted", {})),
        )

    # -- step 1 -----------------------------------------------------------------------

    def key_data(self) -> dict[str, Any]:
        g = self.group
        ctx = bytes.fromhex(self.election_id)
        commitments = threshold.commit(g, self.coefficients)
        enc = _x25519_pub(self.encryption_key)
        proofs = [
            prove_schnorr(
                g,
                TAG_COEFFICIENT,
                ctx,
                a,
                c,
                coefficient_bind(self.guardian, self.index, enc, commitments, m),
            )
            for m, (a, c) in enumerate(zip(self.coefficients, commitments, strict=True))
        ]
        data = {
            "guardian": self.guardian,
            "index": self.index,
            "encryption_key": enc,
            "commitments": [c.hex() for c in commitments],
            "proofs": [codec.schnorr_to_json(g, p) for p in proofs],
        }
        self.posted["guardian_key"] = data
        return data

    # -- step 2 -----------------------------------------------------------------------

    def check_key_data(self, data: dict[str, Any]) -> GuardianKey:
        """Parse a guardian's key entry and check its proofs (which bind every field,
        the X25519 key included); this guardian's own must be the one it made."""
        g = self.group
        try:
            gk = parse_guardian_key(g, self._manifest_view(), data)
        except EntryError as exc:
            raise CeremonyError(str(exc)) from exc
        problems = guardian_key_problems(g, self.election_id, gk)
        if problems:
            raise CeremonyError(problems[0])
        self.check_own("guardian_key", data)
        return gk

    def check_own(self, type_: str, data: dict[str, Any]) -> None:
        """This guardian's entry of ``type_`` on the board is the one it made."""
        mine = self.posted.get(type_)
        if (
            mine is not None
            and data.get("guardian") == self.guardian
            and not json_equal(mine, data)
        ):
            raise CeremonyError(
                f"the board's {type_} entry for {self.guardian} is not the one this guardian"
                " made: refusing"
            )

    def _manifest_view(self) -> Manifest:
        """The guardian ids and quorum a parser needs (a guardian knows its referendum
        from its state: the election id binds the referendum file)."""
        if self.manifest is None:
            raise CeremonyError("this guardian has not read its referendum yet")
        return self.manifest

    def shares_data(self, key_entries: list[dict[str, Any]]) -> dict[str, Any]:
        g = self.group
        keys = sorted((self.check_key_data(d) for d in key_entries), key=lambda k: k.index)
        if [k.guardian for k in keys] != guardian_ids(self._manifest_view()):
            raise CeremonyError("every guardian's key is needed, once each")
        shares = []
        for other in keys:
            if other.guardian == self.guardian:
                continue
            value = threshold.evaluate(g, self.coefficients, other.index)
            eph = X25519PrivateKey.generate()
            peer = X25519PublicKey.from_public_bytes(
                b64decode(other.encryption_key, 32, "encryption key")
            )
            key = _share_key(eph.exchange(peer), self.election_id, self.guardian, other.guardian)
            aad = f"{self.election_id}\n{self.guardian}\n{other.guardian}".encode()
            ct = ChaCha20Poly1305(key).encrypt(bytes(12), g.encode_scalar(value), aad)
            shares.append(
                {
                    "to": other.guardian,
                    "ephemeral": _x25519_pub(eph),
                    "ciphertext": base64.b64encode(ct).decode(),
                }
            )
        data = {"guardian": self.guardian, "shares": shares}
        self.posted["guardian_shares"] = data
        return data

    # -- step 3 -----------------------------------------------------------------------

    def ready_data(
        self, key_entries: list[dict[str, Any]], share_entries: list[dict[str, Any]]
    ) -> dict[str, Any]:
        g = self.group
        ids = guardian_ids(self._manifest_view())
        commitments = {}
        for d in key_entries:
            gk = self.check_key_data(d)
            commitments[gk.guardian] = list(gk.commitments)
        if sorted(commitments) != sorted(ids) or len(key_entries) != len(ids):
            raise CeremonyError("every guardian's key is needed, once each")
        total = threshold.evaluate(g, self.coefficients, self.index)
        senders = set()
        for entry in share_entries:
            try:
                parsed = parse_guardian_shares(self._manifest_view(), entry)
            except EntryError as exc:
                raise CeremonyError(str(exc)) from exc
            self.check_own("guardian_shares", entry)
            sender = parsed.guardian
            if sender in senders:
                raise CeremonyError(f"guardian {sender} posted its shares twice")
            senders.add(sender)
            if sender == self.guardian:
                continue
            s = parsed.to(self.guardian)
            eph = X25519PublicKey.from_public_bytes(b64decode(s.ephemeral, 32, "ephemeral"))
            key = _share_key(
                self.encryption_key.exchange(eph), self.election_id, sender, self.guardian
            )
            aad = f"{self.election_id}\n{sender}\n{self.guardian}".encode()
            try:
                raw = ChaCha20Poly1305(key).decrypt(bytes(12), base64.b64decode(s.ciphertext), aad)
                value = g.decode_scalar(raw)
            except Exception as exc:
                raise CeremonyError(f"share from {sender} does not decrypt") from exc
            if not threshold.share_is_valid(g, commitments[sender], self.index, value):
                raise CeremonyError(f"share from {sender} does not match its commitments")
            self.received[sender] = value
            total = (total + value) % g.q
        if senders != set(ids) or len(self.received) != len(ids) - 1:
            raise CeremonyError("shares are missing")
        self.share = total
        vk = g.g_pow_secret(total)
        expected = threshold.verification_key(g, list(commitments.values()), self.index)
        if vk != expected:
            raise CeremonyError("combined share does not match the public commitments")
        ctx = bytes.fromhex(self.election_id)
        proof = prove_schnorr(g, TAG_SHARE_KEY, ctx, total, vk, [self.guardian])
        data = {
            "guardian": self.guardian,
            "verification_key": vk.hex(),
            "proof": codec.schnorr_to_json(g, proof),
        }
        self.posted["guardian_ready"] = data
        return data

    # -- step 4 -----------------------------------------------------------------------

    def decryption_data(
        self, context: bytes, tally: dict[str, Any], tally_index: int
    ) -> dict[str, Any]:
        """Partial decryptions of a tally the caller has already recomputed and checked."""
        if self.share is None:
            raise CeremonyError("this guardian has no key share yet (ceremony not finished)")
        g = self.group
        vk = g.g_pow_secret(self.share)
        out: dict[str, Any] = {}
        for region, questions in sorted(tally.items()):
            out[region] = {}
            for qid, slots in sorted(questions.items()):
                out[region][qid] = {}
                for slot, ct in sorted(slots.items()):
                    d = g.pow_secret(ct.alpha, self.share)
                    proof = prove_equality(
                        g,
                        TAG_DECRYPTION,
                        context,
                        self.share,
                        g.generator(),
                        vk,
                        ct.alpha,
                        d,
                        decryption_bind(self.guardian, region, qid, slot),
                    )
                    out[region][qid][slot] = {
                        "share": d.hex(),
                        "proof": codec.equality_to_json(g, proof),
                    }
        return {"guardian": self.guardian, "tally_index": tally_index, "shares": out}


def decrypt_checked(guardian: Guardian, board: CheckedBoard) -> dict[str, Any]:
    """Partial decryptions of the tally a checked board established: the verifier's
    checks passed on every entry up to the tally (each counted ballot signed with a
    listed credential, well-formed, proven, inside the window; the posted tally equal to
    the product of exactly those ballots), and the guardian's own ceremony entries are
    the ones it made. The caller has checked the close is witnessed."""
    if guardian.election_id != board.election_id:
        raise CeremonyError("this guardian state belongs to another referendum")
    guardian.manifest = board.manifest
    if len(board.indices("tally")) != 1 or board.tally is None or board.tally_index is None:
        raise CeremonyError("refusing to decrypt: there is no single tally entry on the board")
    if board.context is None:
        raise CeremonyError("refusing to decrypt: the election context is not established")
    for t in ("guardian_key", "guardian_shares", "guardian_ready"):
        for e in board.of_type(t):
            guardian.check_own(t, e.data)
    if guardian.share is None:
        raise CeremonyError("this guardian has no key share yet (ceremony not finished)")
    vk = board.verification_keys.get(guardian.guardian)
    if vk is None or vk != guardian.group.g_pow_secret(guardian.share):
        raise CeremonyError(
            "refusing to decrypt: the board's key share for this guardian is not ours"
        )
    return guardian.decryption_data(board.context, board.tally, board.tally_index)


def decrypt_from_board(
    guardian: Guardian,
    raw: RawRecord,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Check the board (``BEFORE_DECRYPTION``), require the close to be witnessed, then
    decrypt the tally the checks recomputed (``CeremonyError`` naming what failed)."""
    try:
        board = check_board(
            raw, BEFORE_DECRYPTION, workers=workers, scheduler=scheduler, progress=progress
        )
    except Refused as exc:
        raise CeremonyError(str(exc)) from exc
    closes = board.indices("close")
    if not closes:
        raise CeremonyError("refusing to decrypt: voting is not closed (no close entry)")
    short = board.unwitnessed(closes[0])
    if short is not None:
        raise CeremonyError(
            f"refusing to decrypt: the close entry is not yet witnessed ({short[0]} of"
            f" {short[1]} witness cosignatures)"
        )
    return decrypt_checked(guardian, board)
