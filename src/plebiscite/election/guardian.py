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
from collections.abc import Callable, Sequence
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
from plebiscite.crypto.proofs import prove_equality, prove_schnorr, verify_schnorr
from plebiscite.election.keys import key_from_seed, seed_of
from plebiscite.record import codec
from plebiscite.record.entries import b64decode
from plebiscite.record.protocol import (
    TAG_COEFFICIENT,
    TAG_DECRYPTION,
    TAG_SHARE_ENC,
    TAG_SHARE_KEY,
    decryption_bind,
)


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
        )

    # -- step 1 -----------------------------------------------------------------------

    def key_data(self) -> dict[str, Any]:
        g = self.group
        ctx = bytes.fromhex(self.election_id)
        commitments = threshold.commit(g, self.coefficients)
        proofs = [
            prove_schnorr(g, TAG_COEFFICIENT, ctx, a, c, [self.guardian, m])
            for m, (a, c) in enumerate(zip(self.coefficients, commitments, strict=True))
        ]
        return {
            "guardian": self.guardian,
            "index": self.index,
            "encryption_key": _x25519_pub(self.encryption_key),
            "commitments": [c.hex() for c in commitments],
            "proofs": [codec.schnorr_to_json(g, p) for p in proofs],
        }

    # -- step 2 -----------------------------------------------------------------------

    def check_key_data(self, data: dict[str, Any]) -> list[Any]:
        """Check another guardian's commitments and proofs; return the commitments."""
        g = self.group
        ctx = bytes.fromhex(self.election_id)
        who = str(data.get("guardian"))
        cs = [codec.element(g, c) for c in data["commitments"]]
        if len(cs) != self.quorum or len(data["proofs"]) != self.quorum:
            raise CeremonyError(f"guardian {who}: expected {self.quorum} commitments")
        for m, (c, p) in enumerate(zip(cs, data["proofs"], strict=True)):
            proof = codec.schnorr_from_json(g, p)
            if not verify_schnorr(g, TAG_COEFFICIENT, ctx, c, proof, [who, m]):
                raise CeremonyError(f"guardian {who}: invalid proof for coefficient {m}")
        return cs

    def shares_data(self, key_entries: list[dict[str, Any]]) -> dict[str, Any]:
        g = self.group
        shares = []
        for other in sorted(key_entries, key=lambda d: int(d["index"])):
            self.check_key_data(other)
            if other["guardian"] == self.guardian:
                continue
            value = threshold.evaluate(g, self.coefficients, int(other["index"]))
            eph = X25519PrivateKey.generate()
            peer = X25519PublicKey.from_public_bytes(
                b64decode(other["encryption_key"], 32, "encryption key")
            )
            key = _share_key(eph.exchange(peer), self.election_id, self.guardian, other["guardian"])
            aad = f"{self.election_id}\n{self.guardian}\n{other['guardian']}".encode()
            ct = ChaCha20Poly1305(key).encrypt(bytes(12), g.encode_scalar(value), aad)
            shares.append(
                {
                    "to": other["guardian"],
                    "ephemeral": _x25519_pub(eph),
                    "ciphertext": base64.b64encode(ct).decode(),
                }
            )
        return {"guardian": self.guardian, "shares": shares}

    # -- step 3 -----------------------------------------------------------------------

    def ready_data(
        self, key_entries: list[dict[str, Any]], share_entries: list[dict[str, Any]]
    ) -> dict[str, Any]:
        g = self.group
        commitments = {d["guardian"]: self.check_key_data(d) for d in key_entries}
        total = threshold.evaluate(g, self.coefficients, self.index)
        for entry in share_entries:
            sender = entry["guardian"]
            if sender == self.guardian:
                continue
            mine = [s for s in entry["shares"] if s["to"] == self.guardian]
            if len(mine) != 1:
                raise CeremonyError(f"guardian {sender} sent no share to {self.guardian}")
            s = mine[0]
            eph = X25519PublicKey.from_public_bytes(b64decode(s["ephemeral"], 32, "ephemeral"))
            key = _share_key(
                self.encryption_key.exchange(eph), self.election_id, sender, self.guardian
            )
            aad = f"{self.election_id}\n{sender}\n{self.guardian}".encode()
            try:
                raw = ChaCha20Poly1305(key).decrypt(
                    bytes(12), base64.b64decode(s["ciphertext"]), aad
                )
                value = g.decode_scalar(raw)
            except Exception as exc:
                raise CeremonyError(f"share from {sender} does not decrypt") from exc
            if not threshold.share_is_valid(g, commitments[sender], self.index, value):
                raise CeremonyError(f"share from {sender} does not match its commitments")
            self.received[sender] = value
            total = (total + value) % g.q
        if len(self.received) != len(key_entries) - 1:
            raise CeremonyError("shares are missing")
        self.share = total
        vk = g.g_pow_secret(total)
        expected = threshold.verification_key(g, list(commitments.values()), self.index)
        if vk != expected:
            raise CeremonyError("combined share does not match the public commitments")
        ctx = bytes.fromhex(self.election_id)
        proof = prove_schnorr(g, TAG_SHARE_KEY, ctx, total, vk, [self.guardian])
        return {
            "guardian": self.guardian,
            "verification_key": vk.hex(),
            "proof": codec.schnorr_to_json(g, proof),
        }

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


def decrypt_from_board(
    guardian: Guardian,
    entries: Sequence[Any],
    checkpoints: list[Any] | None = None,
    cosignatures: list[bytes] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """The guardian's decrypt step over the board it holds (``progress`` hears
    ``("tallying", entries done, entries)``).

    It recomputes the tally from the ballots before the close entry and the context
    hash from the ceremony entries, and refuses unless both equal what is posted:
    a guardian never decrypts what the organiser merely hands it. When the referendum
    sets a witness quorum, the checkpoint covering the close entry must carry it (so the
    closed board is the one every witness saw).
    """
    from plebiscite.election.tally import TallyError, check_posted_tally, scan_board
    from plebiscite.record.manifest import guardian_ids, parse_manifest
    from plebiscite.record.protocol import context_hash

    g = guardian.group
    manifest = parse_manifest(entries[0].data["manifest"])
    try:
        # one pass: the tally, and every other entry by type (``entries`` may read a
        # large board on demand)
        tr, others = scan_board(g, manifest, entries, progress)
    except TallyError as exc:
        raise CeremonyError(str(exc)) from exc
    posted = others.get("tally", [])
    if len(posted) != 1:
        raise CeremonyError("refusing to decrypt: there is no single tally entry on the board")
    tally_index, tally_entry = posted[0]
    problem = close_witness_problem(manifest, entries, tr.close_index, checkpoints, cosignatures)
    if problem:
        raise CeremonyError(f"refusing to decrypt: {problem}")
    if tally_index < tr.close_index:
        raise CeremonyError("refusing to decrypt: the tally precedes the close entry")
    try:
        check_posted_tally(tr, tally_entry.data)
    except TallyError as exc:
        raise CeremonyError(f"refusing to decrypt: {exc}") from exc
    keys = {e.data["guardian"]: e.data for _, e in others.get("guardian_key", [])}
    commitments = [guardian.check_key_data(keys[x]) for x in guardian_ids(manifest)]
    jk = threshold.joint_key(g, commitments)
    ctx = context_hash(g, guardian.election_id, manifest.quorum, commitments, jk)
    posted_ctx = [e.data for _, e in others.get("election_context", [])]
    if posted_ctx != [{"joint_key": jk.hex(), "context_hash": ctx.hex()}]:
        raise CeremonyError("refusing to decrypt: the posted election context is wrong")
    return guardian.decryption_data(ctx, tr.tally, tally_index)


def close_witness_problem(
    manifest: Any,
    entries: Sequence[Any],
    close_index: int,
    checkpoints: list[Any] | None,
    cosignatures: list[bytes] | None,
) -> str | None:
    """Why the close checkpoint is not trusted (None when the quorum holds or is 0)."""
    from plebiscite.board.cosign import parse_cosignatures, trusted_by
    from plebiscite.record.manifest import quorum_witnesses, witness_quorum

    quorum = witness_quorum(manifest)
    if quorum == 0:
        return None
    cp = next((c for c in checkpoints or [] if c.size > close_index), None)
    if cp is None:
        return "no checkpoint covers the close entry"
    witnesses = quorum_witnesses(manifest)
    cosigs = parse_cosignatures(cosignatures or [])
    got = trusted_by(cp, cosigs, witnesses)
    if len(got) < quorum:
        return (
            f"the close checkpoint (size {cp.size}) has {len(got)} of the {quorum}"
            " witness cosignatures it needs"
        )
    return None
