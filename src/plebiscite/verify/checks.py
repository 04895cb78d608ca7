"""The verifier's numbered checks.

The verifier re-derives everything from the record with ``crypto/``, ``record/`` and
``board/`` only; it never imports the producing side (``election/``), so a bug there
cannot hide itself. Each check returns data; a check whose inputs are missing because
an earlier check failed is reported as failed ("cannot run"), never as passed.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from plebiscite.board.checkpoint import Checkpoint, verify_checkpoint
from plebiscite.board.cosign import Cosignature, trusted_by, verify_cosignature
from plebiscite.board.merkle import MerkleTree, leaf_hash
from plebiscite.crypto import threshold
from plebiscite.crypto.elgamal import Ciphertext
from plebiscite.crypto.group import Element, Group, GroupError, get_group
from plebiscite.crypto.proofs import verify_equality, verify_schnorr
from plebiscite.record import codec
from plebiscite.record.canonical import CanonicalError, canonical_bytes, loads
from plebiscite.record.entries import (
    Entry,
    EntryError,
    b64decode,
    election_id_of,
    parse_entry,
    parse_entry_time,
    verify_entry_signature,
)
from plebiscite.record.manifest import (
    Manifest,
    ManifestError,
    guardian_ids,
    jurisdiction_problems,
    observers,
    parse_manifest,
    parse_observer,
    pinned_authority_key,
    pinned_guardian_key,
    witness_keys,
    witness_quorum,
)
from plebiscite.record.protocol import (
    TAG_COEFFICIENT,
    TAG_DECRYPTION,
    TAG_SHARE_KEY,
    context_hash,
    decryption_bind,
    dispute_problem,
)
from plebiscite.verify.ballots import BallotContext, BallotFinding, check_batch, check_challenged
from plebiscite.verify.reader import RawRecord
from plebiscite.verify.report import CheckResult, CheckSpec, Report, Status

# Mapping: ElectionGuard Design Specification v2.1.0, section 6.2 verification steps;
# the checks `belenios-tool election verify` makes (Belenios 2.x sources).
_S = CheckSpec
# fmt: off
CHECKS: list[CheckSpec] = [
    _S("V01", "Entries are well-formed and start with one referendum", "-",
       "fsck; check_rawballot NonCanonical"),
    _S("V02", "Checkpoints are signed by the board and match the entries", "-",
       "archive chain (event hashes)"),
    _S("V03", "The final checkpoint covers every entry", "-", "archive chain (last event)"),
    _S("V04", "The referendum file is valid",
       "1 (parameter validation; 1.B-1.D by group name)", "election.json well-formed"),
    _S("V05", "Every entry is signed by the party that vouches for it", "-",
       "signed ballots, trustee keys"),
    _S("V06", "Entries follow the protocol's order", "-", "-"),
    _S("V07", "Guardian commitments carry valid proofs of knowledge",
       "2 (2.A-2.C guardian public-key validation)",
       "trustee public keys / threshold certificates"),
    _S("V08", "Every guardian distributed shares and proved its key share",
       "- (guardians verify shares, section 3.2.2; cf. Note 3.7)",
       "threshold verification keys (check_pedersen)"),
    _S("V09", "Joint key and context hash recomputed",
       "3, 4 (election public key; extended base hash)", "election public key"),
    _S("V10", "Credential lists: one per region, signed, no duplicates", "-",
       "public credentials and weights"),
    _S("V11", "Ballots are well-formed, with valid group elements",
       "6.A-6.C, 7.A-7.C (membership, ranges)", "canonical ballots"),
    _S("V12", "Ballots use listed credentials of their region", "-", "ballot credential in list"),
    _S("V13", "Ballot proofs: each option 0 or 1, each question in min..max",
       "6, 7 (well-formedness of selection encryptions; adherence to vote limits)",
       "individual and overall proofs"),
    _S("V14", "Tracking codes match and never repeat", "8, 5.A (confirmation codes; uniqueness)",
       "ballot hashes unique"),
    _S("V15", "Ballots lie inside the voting window", "-", "-"),
    _S("V16", "One counted ballot per credential; turnout within credentials", "-",
       "last ballot per credential"),
    _S("V17", "The tally is the product of the counted ballots", "9 (ballot aggregation)",
       "encrypted tally (recomputed)"),
    _S("V18", "Decryption shares carry valid proofs from a quorum",
       "10.A-10.B (decryption proofs, per guardian as in Note 3.7)", "partial decryptions"),
    _S("V19", "The result is the decryption of the tally",
       "10.C, 11 (decrypted value; tally contents)", "result"),
    _S("V20", "Challenged ballots open to valid choices",
       "13, 14 (challenged ballots: decryption; well-formedness and content)", "-"),
    _S("V21", "Guardians meet the jurisdiction rules", "-", "-"),
    _S("V22", "The close and final checkpoints reach the witness quorum", "-", "-"),
]
# fmt: on
TITLES = {c.id: c.title for c in CHECKS}

BATCH = 64


class CannotRun(Exception):
    """A check's inputs are missing because an earlier check failed."""


class NotApplicable(Exception):
    """Nothing to check, with the reason shown (e.g. an unwitnessed referendum)."""


@dataclass
class State:
    raw: RawRecord
    entries: list[Entry | None] = field(default_factory=list)
    manifest: Manifest | None = None
    referendum: Entry | None = None
    election_id: str = ""
    board_key: bytes = b""
    group: Group | None = None
    commitments: dict[str, list[Element]] = field(default_factory=dict)
    indices: dict[str, int] = field(default_factory=dict)
    verification_keys: dict[str, Element] = field(default_factory=dict)
    joint_key: Element | None = None
    context: bytes | None = None
    credentials: dict[str, set[str]] = field(default_factory=dict)
    ballot_findings: list[BallotFinding] | None = None
    # credential -> (index, entry) of its last ballot before the close
    counted: dict[str, tuple[int, Entry]] = field(default_factory=dict)
    tally: dict[str, dict[str, dict[str, Ciphertext]]] | None = None
    tally_index: int | None = None
    results: dict[str, Any] | None = None

    def of_type(self, t: str) -> list[tuple[int, Entry]]:
        return [(i, e) for i, e in enumerate(self.entries) if e is not None and e.type == t]

    def need_manifest(self) -> Manifest:
        if self.manifest is None or self.group is None:
            raise CannotRun("no valid referendum file (V04)")
        return self.manifest

    def need_group(self) -> Group:
        self.need_manifest()
        assert self.group is not None
        return self.group

    def need_context(self) -> tuple[bytes, Element]:
        if self.context is None or self.joint_key is None:
            raise CannotRun("no valid election context (V09)")
        return self.context, self.joint_key


class Verifier:
    def __init__(self, raw: RawRecord, workers: int = 1) -> None:
        self.s = State(raw)
        self.workers = max(1, workers)
        self.progress: Callable[[int, int], None] | None = None
        self.scheduler: str | None = None  # a Dask scheduler address, or local processes

    def run(self) -> Report:
        out = []
        for spec in CHECKS:
            fn = getattr(self, "check_" + spec.id.lower())
            try:
                details = fn()
                status: Status = "passed"
                if details is None:
                    status, details = "not_applicable", []
                elif details:
                    status = "failed"
                else:
                    details = []
            except CannotRun as exc:
                status, details = "failed", [f"cannot run: {exc}"]
            except NotApplicable as exc:
                status, details = "not_applicable", [str(exc)]
            out.append(
                CheckResult(spec.id, spec.title, status, list(details)[:50], spec.references)
            )
        s = self.s
        summary = {
            "entries": len(s.raw.entries),
            "checkpoints": len(s.raw.checkpoints),
            "ballots": len(s.of_type("ballot")),
            "challenged": len(s.of_type("challenged_ballot")),
            "counted": len(s.counted),
            "group": s.group.name if s.group else None,
            "title": s.manifest.title if s.manifest else None,
            "stage": self._stage(),
        }
        from plebiscite.verify.forensics import forensics

        return Report(out, summary, s.results, forensics(s))

    def _stage(self) -> str:
        """How far the referendum has got, from its latest milestone entry."""
        for t, stage in (
            ("result", "decided"),
            ("tally", "tallied"),
            ("close", "closed"),
            ("open", "voting"),
            ("election_context", "set up"),
        ):
            if self.s.of_type(t):
                return stage
        return "setting up"

    # V01 -------------------------------------------------------------------------------
    def check_v01(self) -> list[str]:
        s, problems = self.s, []
        last = None
        for i, raw in enumerate(s.raw.entries):
            try:
                e = parse_entry(raw)
            except EntryError as exc:
                s.entries.append(None)
                problems.append(f"entry {i}: {exc}")
                continue
            if last is not None and e.when < last:
                problems.append(f"entry {i}: time goes backwards")
            last = e.when
            s.entries.append(e)
        refs = s.of_type("referendum")
        if not refs or refs[0][0] != 0:
            problems.append("the first entry is not the referendum")
        if len(refs) > 1:
            problems.append(f"{len(refs)} referendum entries")
        if refs and refs[0][0] == 0:
            s.referendum = refs[0][1]
        return problems

    # V02 -------------------------------------------------------------------------------
    def check_v02(self) -> list[str]:
        s, problems = self.s, []
        ref = s.referendum
        if ref is None:
            raise CannotRun("no referendum entry (V01)")
        try:
            s.board_key = b64decode(ref.data.get("board_key"), 32, "board_key")
        except EntryError as exc:
            raise CannotRun(str(exc)) from exc
        origin = ref.data.get("origin")
        tree = MerkleTree()
        for raw in s.raw.entries:
            tree.append(leaf_hash(raw))
        self._tree = tree
        prev_size, prev_time = 0, cast(datetime | None, None)
        self._final: Checkpoint | None = None
        self._checkpoints: list[Checkpoint] = []
        if not s.raw.checkpoints:
            return ["no checkpoints"]
        for i, line in enumerate(s.raw.checkpoints):
            try:
                cp = Checkpoint.from_json(loads(line))
                when = parse_entry_time(cp.time)
            except (ValueError, CanonicalError) as exc:
                problems.append(f"checkpoint {i}: {exc}")
                continue
            if canonical_bytes(cp.to_json()) != line:
                problems.append(f"checkpoint {i}: not in canonical form")
            if not verify_checkpoint(cp, s.board_key):
                problems.append(f"checkpoint {i}: bad signature")
            if cp.origin != origin:
                problems.append(f"checkpoint {i}: origin {cp.origin!r} is not the board's")
            if cp.size > tree.size:
                problems.append(f"checkpoint {i}: size {cp.size} beyond the {tree.size} entries")
            elif cp.root != tree.root(cp.size):
                problems.append(f"checkpoint {i}: root does not match entries 0..{cp.size - 1}")
            if cp.size < prev_size:
                problems.append(f"checkpoint {i}: size goes backwards")
            if prev_time is not None and when < prev_time:
                problems.append(f"checkpoint {i}: time goes backwards")
            # Entry times are the board's word only; the checkpoints bound them: an entry
            # first covered by this checkpoint was appended after the previous one.
            for j in range(prev_size, min(cp.size, len(s.entries))):
                e = s.entries[j]
                if e is not None and (
                    e.when > when or (prev_time is not None and e.when < prev_time)
                ):
                    problems.append(f"entry {j}: time {e.time} outside its checkpoints' times")
            prev_size, prev_time = max(prev_size, cp.size), when
            self._final = cp
            self._checkpoints.append(cp)
        return problems

    # V03 -------------------------------------------------------------------------------
    def check_v03(self) -> list[str]:
        final = getattr(self, "_final", None)
        if final is None:
            raise CannotRun("no readable checkpoint (V02)")
        n = len(self.s.raw.entries)
        if final.size != n:
            return [f"the final checkpoint covers {final.size} of {n} entries"]
        if final.root != self._tree.root(n):
            return ["the final checkpoint's root does not match the entries"]
        return []

    # V04 -------------------------------------------------------------------------------
    def check_v04(self) -> list[str]:
        s = self.s
        if s.referendum is None:
            raise CannotRun("no referendum entry (V01)")
        d = s.referendum.data
        if set(d) != {"manifest", "board_key", "origin"} or not isinstance(d.get("origin"), str):
            return ["referendum entry: expected keys board_key, manifest, origin"]
        try:
            m = parse_manifest(d["manifest"])
            s.group = get_group(m.group)
        except (ManifestError, GroupError) as exc:
            return [str(exc)]
        except TypeError as exc:  # e.g. a list where an id belongs
            return [f"referendum file is malformed: {exc}"]
        s.manifest = m
        s.election_id = election_id_of(d)
        return []

    # V05 -------------------------------------------------------------------------------
    def check_v05(self) -> list[str]:
        s, problems = self.s, []
        m = s.need_manifest()
        board = s.referendum.data["board_key"] if s.referendum else None
        guardian_keys: dict[str, str] = {}
        for _, ke in s.of_type("guardian_key"):
            gid = ke.data.get("guardian")
            if isinstance(gid, str) and gid not in guardian_keys and ke.signer:
                guardian_keys[gid] = ke.signer
        ca_pinned = pinned_authority_key(m)
        ca_keys = {ce.signer for _, ce in s.of_type("credential_list")}
        if ca_pinned is None and len(ca_keys) > 1:
            problems.append("credential lists are signed by different keys")
        dispute_signers: set[str] | None = None  # computed at the first dispute
        for i, e in enumerate(s.entries):
            if e is None:
                continue
            if e.type == "challenged_ballot":
                if e.signer is not None:
                    problems.append(f"entry {i}: a challenged ballot must be anonymous")
                continue
            if e.type in (
                "referendum",
                "election_context",
                "voter_roll",
                "observer_accreditation",
                "open",
                "close",
                "tally",
                "result",
            ):
                expected = board
            elif e.type.startswith("guardian_") or e.type == "decryption_share":
                gid = e.data.get("guardian")
                expected = pinned_guardian_key(m, gid) if isinstance(gid, str) else None
                expected = expected or guardian_keys.get(gid) if isinstance(gid, str) else None
            elif e.type == "credential_list":
                expected = ca_pinned or e.signer
            elif e.type == "ballot":
                expected = e.data.get("credential")
            elif e.type == "dispute":
                # A voter signs with a listed credential, an observer with its key.
                if dispute_signers is None:
                    dispute_signers = set(self.witnesses().values())
                    for _, cl in s.of_type("credential_list"):
                        if isinstance(cl.data.get("credentials"), list):
                            dispute_signers |= {str(c) for c in cl.data["credentials"]}
                expected = e.signer if e.signer in dispute_signers else None
            else:  # pragma: no cover - closed set
                expected = None
            if expected is None or e.signer != expected:
                problems.append(
                    f"entry {i} ({e.type}): not signed by the party that vouches for it"
                )
                continue
            eid = "" if e.type == "referendum" else s.election_id
            if not verify_entry_signature(e, eid):
                problems.append(f"entry {i} ({e.type}): invalid signature")
        return problems

    # V06 -------------------------------------------------------------------------------
    def check_v06(self) -> list[str]:
        s, problems = self.s, []
        s.need_manifest()
        order = {
            "referendum": 0,
            "guardian_key": 1,
            "guardian_shares": 2,
            "guardian_ready": 3,
            "election_context": 4,
            "credential_list": 4,
            "open": 5,
            "ballot": 6,
            "challenged_ballot": 6,
            "close": 7,
            "tally": 8,
            "decryption_share": 9,
            "result": 10,
        }
        phase = -1
        opened = min((i for i, _ in s.of_type("open")), default=len(s.entries))
        closed = min((i for i, _ in s.of_type("close")), default=len(s.entries))
        accredited = set(observers(s.manifest)) if s.manifest else set()
        for i, e in enumerate(s.entries):
            if e is None:
                continue
            if e.type == "credential_list":
                # The authority may post its lists any time before voting opens.
                if i > opened:
                    problems.append(f"entry {i} (credential_list) comes after the open entry")
                continue
            if e.type == "observer_accreditation":
                try:
                    obs = parse_observer(e.data.get("observer"), f"entry {i} observer")
                    if set(e.data) != {"observer"} or obs["id"] in accredited:
                        raise ManifestError(f"entry {i}: observer declared twice or malformed")
                    accredited.add(obs["id"])
                except ManifestError as exc:
                    problems.append(str(exc))
                continue
            if e.type == "dispute":
                problem = dispute_problem(e.data, s.manifest.regions if s.manifest else {})
                if problem:
                    problems.append(f"entry {i} (dispute): {problem}")
                continue
            if e.type == "voter_roll":
                # The organiser may add voters to the roll until the close.
                if i > closed:
                    problems.append(f"entry {i} (voter_roll) comes after the close entry")
                regions = e.data.get("regions")
                if (
                    set(e.data) != {"regions"}
                    or not isinstance(regions, dict)
                    or not regions
                    or any(r not in s.manifest.regions if s.manifest else True for r in regions)
                    or any(
                        isinstance(n, bool) or not isinstance(n, int) or n < 1
                        for n in regions.values()
                    )
                ):
                    problems.append(f"entry {i} (voter_roll): malformed")
                continue
            p = order[e.type]
            if p < phase:
                problems.append(f"entry {i} ({e.type}) comes after a later phase")
            phase = max(phase, p)
        for t in ("election_context", "open", "close", "tally", "result"):
            n = len(s.of_type(t))
            if n > 1:
                problems.append(f"{n} {t} entries")
        for i, e in s.of_type("open"):
            booth = e.data.get("booth")
            ok = set(e.data) <= {"booth"} and (
                booth is None
                or (
                    isinstance(booth, dict)
                    and booth
                    and all(
                        isinstance(v, str)
                        and len(v) == 64
                        and all(c in "0123456789abcdef" for c in v)
                        for v in booth.values()
                    )
                )
            )
            if not ok:
                problems.append(f"entry {i} (open): data must be empty or a booth file digest map")
        for i, e in s.of_type("close"):
            ballots = sum(1 for j, b in s.of_type("ballot") if j < i)
            if e.data != {"ballots": ballots, "size": i}:
                problems.append(f"close entry: expected ballots={ballots}, size={i}")
        return problems

    # V07 -------------------------------------------------------------------------------
    def check_v07(self) -> list[str]:
        s, problems = self.s, []
        m, g = s.need_manifest(), s.need_group()
        ids = guardian_ids(m)
        seen: dict[str, int] = {}
        ctx = bytes.fromhex(s.election_id)
        for i, e in s.of_type("guardian_key"):
            d = e.data
            gid = d.get("guardian")
            if set(d) != {"guardian", "index", "encryption_key", "commitments", "proofs"}:
                problems.append(f"entry {i}: malformed guardian key")
                continue
            if gid not in ids or gid in seen:
                problems.append(f"entry {i}: unexpected or repeated guardian {gid!r}")
                continue
            if d["index"] != ids.index(gid) + 1:
                problems.append(f"entry {i}: guardian {gid} has index {d['index']!r}")
                continue
            try:
                b64decode(d["encryption_key"], 32, "encryption_key")
                cs = [codec.element(g, c) for c in d["commitments"]]
                ps = [codec.schnorr_from_json(g, p) for p in d["proofs"]]
            except (EntryError, TypeError) as exc:
                problems.append(f"entry {i}: {exc}")
                continue
            if len(cs) != m.quorum or len(ps) != m.quorum:
                problems.append(
                    f"entry {i}: guardian {gid} needs {m.quorum} commitments and proofs"
                )
                continue
            for k, (c, p) in enumerate(zip(cs, ps, strict=True)):
                if g.is_identity(c):
                    problems.append(f"entry {i}: guardian {gid} coefficient {k} is the identity")
                if not verify_schnorr(g, TAG_COEFFICIENT, ctx, c, p, [gid, k]):
                    problems.append(f"entry {i}: guardian {gid} coefficient {k}: proof fails")
            seen[gid] = i
            s.commitments[gid] = cs
            s.indices[gid] = d["index"]
        missing = [x for x in ids if x not in seen]
        if missing:
            problems.append(f"no key from guardians {missing}")
        return problems

    # V08 -------------------------------------------------------------------------------
    def check_v08(self) -> list[str]:
        s, problems = self.s, []
        m, g = s.need_manifest(), s.need_group()
        ids = guardian_ids(m)
        if set(s.commitments) != set(ids):
            raise CannotRun("guardian keys incomplete (V07)")
        senders: Counter[str] = Counter()
        for i, e in s.of_type("guardian_shares"):
            d = e.data
            gid = str(d.get("guardian"))
            senders[gid] += 1
            try:
                tos = sorted(x["to"] for x in d["shares"])
                for x in d["shares"]:
                    if set(x) != {"to", "ephemeral", "ciphertext"}:
                        raise EntryError("share: expected keys ciphertext, ephemeral, to")
                    b64decode(x["ephemeral"], 32, "ephemeral")
                    b64decode(x["ciphertext"], 48, "ciphertext")
            except (EntryError, TypeError, KeyError) as exc:
                problems.append(f"entry {i}: {exc}")
                continue
            if set(d) != {"guardian", "shares"} or tos != sorted(x for x in ids if x != gid):
                problems.append(
                    f"entry {i}: guardian {gid!r} must send one share to each other guardian"
                )
        if sorted(senders.elements()) != sorted(ids):
            problems.append("every guardian must post its shares exactly once")
        all_cs = [s.commitments[x] for x in ids]
        ctx = bytes.fromhex(s.election_id)
        ready: Counter[str] = Counter()
        for i, e in s.of_type("guardian_ready"):
            d = e.data
            gid = str(d.get("guardian"))
            ready[gid] += 1
            if gid not in s.indices or set(d) != {"guardian", "verification_key", "proof"}:
                problems.append(f"entry {i}: malformed guardian_ready")
                continue
            try:
                vk = codec.element(g, d["verification_key"])
                p = codec.schnorr_from_json(g, d["proof"])
            except EntryError as exc:
                problems.append(f"entry {i}: {exc}")
                continue
            if vk != threshold.verification_key(g, all_cs, s.indices[gid]):
                problems.append(f"entry {i}: {gid}'s key share does not match the commitments")
            elif not verify_schnorr(g, TAG_SHARE_KEY, ctx, vk, p, [gid]):
                problems.append(f"entry {i}: {gid}'s proof of its key share fails")
            else:
                s.verification_keys[gid] = vk
        if sorted(ready.elements()) != sorted(ids):
            problems.append("every guardian must confirm exactly once")
        return problems

    # V09 -------------------------------------------------------------------------------
    def check_v09(self) -> list[str]:
        s = self.s
        m, g = s.need_manifest(), s.need_group()
        ids = guardian_ids(m)
        if set(s.commitments) != set(ids):
            raise CannotRun("guardian keys incomplete (V07)")
        ctxs = s.of_type("election_context")
        if len(ctxs) != 1:
            return [f"{len(ctxs)} election_context entries"]
        d = ctxs[0][1].data
        all_cs = [s.commitments[x] for x in ids]
        jk = threshold.joint_key(g, all_cs)
        ch = context_hash(g, s.election_id, m.quorum, all_cs, jk)
        problems = []
        if d != {"joint_key": jk.hex(), "context_hash": ch.hex()}:
            problems.append("posted joint key or context hash differs from the recomputed ones")
        if g.is_identity(jk):
            problems.append("the joint key is the identity")
        s.joint_key, s.context = jk, ch
        return problems

    # V10 -------------------------------------------------------------------------------
    def check_v10(self) -> list[str]:
        s, problems = self.s, []
        m = s.need_manifest()
        everywhere: Counter[str] = Counter()
        for i, e in s.of_type("credential_list"):
            d = e.data
            if set(d) != {"region", "count", "credentials"} or not isinstance(
                d["credentials"], list
            ):
                problems.append(f"entry {i}: malformed credential list")
                continue
            r = d["region"]
            if not isinstance(r, str) or r not in m.regions:
                problems.append(f"entry {i}: unknown region {r!r}")
                continue
            if r in s.credentials:
                problems.append(f"entry {i}: a second list for region {r!r}")
                continue
            creds = d["credentials"]
            if not all(isinstance(c, str) for c in creds):
                problems.append(f"entry {i}: a credential is not base64 text")
                continue
            if d["count"] != len(creds) or creds != sorted(set(creds)):
                problems.append(f"entry {i}: count, order or uniqueness wrong in {r!r}")
            try:
                for c in creds:
                    b64decode(c, 32, "credential")
            except EntryError as exc:
                problems.append(f"entry {i}: {exc}")
            everywhere.update(set(creds))
            s.credentials[r] = set(creds)
        dup = [c for c, n in everywhere.items() if n > 1]
        if dup:
            problems.append(f"{len(dup)} credentials listed in several regions")
        missing = set(m.regions) - set(s.credentials)
        if missing:
            problems.append(f"no credential list for regions {sorted(missing)}")
        return problems

    # V11 / V13 / V14 share one pass over the ballots --------------------------------------
    def _ballot_findings(self) -> list[BallotFinding]:
        s = self.s
        if s.ballot_findings is not None:
            return s.ballot_findings
        m, g = s.need_manifest(), s.need_group()
        ctx, jk = s.need_context()
        bctx = BallotContext(g.name, m.raw, ctx.hex(), jk.hex())
        items = [(i, e.data) for i, e in s.of_type("ballot")]
        batches = [items[k : k + BATCH] for k in range(0, len(items), BATCH)]
        findings: list[BallotFinding] = []
        done = 0
        scheduler = self.scheduler
        if scheduler and batches:
            # A Dask cluster: one task per batch, the context scattered once, a bounded
            # number of batches in flight; results merged in batch order, as below.
            import socket

            import distributed  # lazily: only with a scheduler
            from distributed.comm.addressing import get_address_host_port

            dd: Any = distributed  # untyped

            try:  # a quick probe first: a Client that fails to connect retries till its
                # timeout, then complains again on stderr when it is collected
                socket.create_connection(get_address_host_port(scheduler), timeout=5).close()
                client = dd.Client(scheduler, timeout=10, set_as_default=False)
            except (OSError, ValueError) as exc:
                raise ConnectionError(f"cannot reach scheduler {scheduler!r}: {exc}") from None
            with client:
                try:
                    client.wait_for_workers(1, timeout=60)
                except (OSError, TimeoutError) as exc:
                    raise ConnectionError(f"no worker joined scheduler {scheduler!r}") from exc
                limit = 4 * max(1, sum(client.nthreads().values()))  # back-pressure
                remote_ctx = client.scatter(bctx, broadcast=True, hash=False)

                def check_remote(shared: BallotContext, batch: list[tuple[int, Any]]) -> Any:
                    # A fresh copy per task: the scattered context must stay picklable (a
                    # worker may send it to another), and its caches hold native handles.
                    from dataclasses import replace

                    return check_batch(replace(shared), batch)

                results: dict[int, list[BallotFinding]] = {}
                tags: dict[Any, tuple[int, int]] = {}  # by future key
                nxt = 0

                def submit() -> Any:
                    nonlocal nxt
                    b = batches[nxt]
                    fut = client.submit(check_remote, remote_ctx, b, pure=False)
                    tags[fut.key], nxt = (nxt, len(b)), nxt + 1
                    return fut

                first = [submit() for _ in range(min(limit, len(batches)))]
                ac = dd.as_completed(first, loop=client.loop)
                for fut in ac:
                    k, n = tags.pop(fut.key)
                    results[k] = fut.result()
                    fut.release()
                    done += n
                    if self.progress:
                        self.progress(done, len(items))
                    if nxt < len(batches):
                        ac.add(submit())
                for k in range(len(batches)):
                    findings.extend(results[k])
        elif self.workers == 1 or len(batches) <= 1:
            for b in batches:
                findings.extend(check_batch(bctx, b))
                done += len(b)
                if self.progress:
                    self.progress(done, len(items))
        else:
            with ProcessPoolExecutor(self.workers) as pool:
                futures = [(len(b), pool.submit(check_batch, bctx, b)) for b in batches]
                for n, f in futures:
                    findings.extend(f.result())
                    done += n
                    if self.progress:
                        self.progress(done, len(items))
        s.ballot_findings = findings
        return findings

    def _findings(self, kind: str) -> list[str] | None:
        if not self.s.of_type("ballot"):
            return None
        return [f"entry {f.index}: {f.message}" for f in self._ballot_findings() if f.kind == kind]

    def check_v11(self) -> list[str] | None:
        return self._findings("wellformed")

    def check_v12(self) -> list[str] | None:
        s = self.s
        s.need_manifest()
        ballots = s.of_type("ballot")
        if not ballots:
            return None
        problems = []
        for i, e in ballots:
            r, c = e.data.get("region"), e.data.get("credential")
            listed = s.credentials.get(r, set()) if isinstance(r, str) else set()
            if not isinstance(c, str) or c not in listed:
                problems.append(f"entry {i}: credential not in the list of region {r!r}")
        return problems

    def check_v13(self) -> list[str] | None:
        return self._findings("proofs")

    def check_v14(self) -> list[str] | None:
        if not self.s.of_type("ballot") and not self.s.of_type("challenged_ballot"):
            return None
        found = self._findings("tracking") or []
        codes: Counter[str] = Counter()
        for _, e in self.s.of_type("ballot"):
            codes[str(e.data.get("tracking_code"))] += 1
        for _, e in self.s.of_type("challenged_ballot"):
            codes[str(e.data.get("tracking_code"))] += 1
        found += [f"tracking code {c[:16]}… appears {n} times" for c, n in codes.items() if n > 1]
        return found

    def check_v15(self) -> list[str] | None:
        s = self.s
        m = s.need_manifest()
        ballots = s.of_type("ballot")
        if not ballots:
            return None
        opens = [i for i, _ in s.of_type("open")]
        closes = [i for i, _ in s.of_type("close")]
        lo = opens[0] if opens else None
        hi = closes[0] if closes else None
        problems = []
        for i, e in ballots:
            if lo is None or i < lo:
                problems.append(f"entry {i}: ballot before the open entry")
            elif hi is not None and i > hi:
                problems.append(f"entry {i}: ballot after the close entry")
            elif not m.opens <= e.when <= m.closes:
                problems.append(f"entry {i}: ballot cast at {e.time}, outside the voting window")
        closing = s.entries[hi] if hi is not None else None
        if closing is not None and closing.when < m.opens:
            problems.append("the close entry predates the opening time")
        return problems

    # V16 -------------------------------------------------------------------------------
    def check_v16(self) -> list[str] | None:
        s, problems = self.s, []
        m = s.need_manifest()
        closes = s.of_type("close")
        if not closes:
            return None  # voting has not closed: nothing is counted yet
        close_index = closes[0][0]
        opened = [i for i, _ in s.of_type("open")]
        start = opened[0] if opened else close_index
        for i, e in s.of_type("ballot"):
            if start < i < close_index:
                s.counted[str(e.data.get("credential"))] = (i, e)
        turnout: Counter[str] = Counter(str(e.data.get("region")) for _, e in s.counted.values())
        for r, n in turnout.items():
            if n > len(s.credentials.get(r, ())):
                have = len(s.credentials.get(r, ()))
                problems.append(f"region {r}: {n} counted ballots for {have} credentials")
        tallies = s.of_type("tally")
        if tallies:
            expected = {r: turnout.get(r, 0) for r in m.regions}
            posted = tallies[0][1].data.get("counted")
            if posted != expected:
                problems.append(
                    f"the tally counts {posted} ballots per region, expected {expected}"
                )
        return problems

    # V17 -------------------------------------------------------------------------------
    def check_v17(self) -> list[str] | None:
        s = self.s
        m, g = s.need_manifest(), s.need_group()
        tallies = s.of_type("tally")
        if not tallies:
            return None  # not tallied yet
        if len(tallies) != 1:
            return [f"{len(tallies)} tally entries"]
        closes = s.of_type("close")
        if not closes:
            raise CannotRun("no close entry")
        acc: dict[str, dict[str, dict[str, Ciphertext]]] = {
            r: {
                q.id: {x: Ciphertext(g.identity(), g.identity()) for x in q.slots}
                for q in m.region_questions(r)
            }
            for r in m.regions
        }
        bad = {f.index for f in (s.ballot_findings or []) if f.kind == "wellformed"}
        for idx, e in s.counted.values():
            if idx in bad:
                raise CannotRun(f"counted ballot {idx} is malformed (V11)")
            try:
                r = e.data["region"]
                for a in e.data["answers"]:
                    q = m.questions[a["question"]]
                    for slot, c in zip(q.slots, a["choices"], strict=True):
                        ct = codec.ct_from_json(g, {"alpha": c["alpha"], "beta": c["beta"]})
                        acc[r][q.id][slot] = acc[r][q.id][slot] * ct
            except (EntryError, KeyError, TypeError, ValueError) as exc:
                raise CannotRun(f"counted ballot {idx} is malformed") from exc
        ti, te = tallies[0]
        d = te.data
        expected = {
            r: {q: {x: codec.ct_to_json(c) for x, c in sl.items()} for q, sl in qs.items()}
            for r, qs in acc.items()
        }
        problems = []
        if set(d) != {"close_index", "counted", "regions"} or d["close_index"] != closes[0][0]:
            problems.append("the tally does not name the close entry")
        if d.get("regions") != expected:
            problems.append("the posted tally differs from the product of the counted ballots")
        s.tally, s.tally_index = acc, ti
        return problems

    # V18 -------------------------------------------------------------------------------
    def check_v18(self) -> list[str] | None:
        s, problems = self.s, []
        m, g = s.need_manifest(), s.need_group()
        ctx, _ = s.need_context()
        self._good_shares: dict[str, dict[str, Any]] = {}
        if not s.of_type("decryption_share") and not s.of_type("result"):
            return None  # not decrypted yet
        if s.tally is None or s.tally_index is None:
            raise CannotRun("no valid tally (V17)")
        for i, e in s.of_type("decryption_share"):
            d = e.data
            gid = str(d.get("guardian"))
            if set(d) != {"guardian", "tally_index", "shares"} or d["tally_index"] != s.tally_index:
                problems.append(f"entry {i}: malformed or not about the tally")
                continue
            vk = s.verification_keys.get(gid)
            if vk is None:
                problems.append(f"entry {i}: {gid!r} has no verified key share (V08)")
                continue
            if gid in self._good_shares:
                problems.append(f"entry {i}: a second share set from {gid}")
                continue
            ok = True
            try:
                for r, qs in s.tally.items():
                    if set(d["shares"][r]) != set(qs):
                        raise EntryError(f"shares for region {r} incomplete")
                    for qid, slots in qs.items():
                        if set(d["shares"][r][qid]) != set(slots):
                            raise EntryError(f"shares for {r}/{qid} incomplete")
                        for slot, ct in slots.items():
                            sh = d["shares"][r][qid][slot]
                            if set(sh) != {"share", "proof"}:
                                raise EntryError("share: expected keys proof, share")
                            dj = codec.element(g, sh["share"])
                            p = codec.equality_from_json(g, sh["proof"])
                            bind = decryption_bind(gid, r, qid, slot)
                            if not verify_equality(
                                g, TAG_DECRYPTION, ctx, g.generator(), vk, ct.alpha, dj, p, bind
                            ):
                                problems.append(
                                    f"entry {i}: {gid}'s share for {r}/{qid}/{slot}: proof fails"
                                )
                                ok = False
                if set(d["shares"]) != set(s.tally):
                    raise EntryError("shares for unknown regions")
            except (EntryError, KeyError, TypeError) as exc:
                problems.append(f"entry {i}: {exc}")
                ok = False
            if ok:
                self._good_shares[gid] = d["shares"]
        if len(self._good_shares) < m.quorum:
            problems.append(f"{len(self._good_shares)} valid share sets, the quorum is {m.quorum}")
        return problems

    # V19 -------------------------------------------------------------------------------
    def check_v19(self) -> list[str] | None:
        s = self.s
        m, g = s.need_manifest(), s.need_group()
        res = s.of_type("result")
        if not res:
            return None  # no result published yet
        if len(res) != 1:
            return [f"{len(res)} result entries"]
        if s.tally is None:
            raise CannotRun("no valid tally (V17)")
        d = res[0][1].data
        if set(d) != {"tally_index", "guardians", "counts"} or d["tally_index"] != s.tally_index:
            return ["the result is malformed or not about the tally"]
        used = d["guardians"]
        good = getattr(self, "_good_shares", {})
        if (
            not isinstance(used, list)
            or not all(isinstance(u, str) for u in used)
            or len(set(used)) != len(used)
            or len(used) < m.quorum
        ):
            return ["the result must name at least a quorum of distinct guardians"]
        if any(u not in good for u in used):
            return ["the result uses guardians without valid shares (V18)"]
        present = [s.indices[u] for u in used]
        lam = {u: threshold.lagrange_at_zero(g, s.indices[u], present) for u in used}
        counts = d["counts"]
        expected_shape = {r: {q: set(sl) for q, sl in qs.items()} for r, qs in s.tally.items()}
        try:
            shape = {r: {q: set(sl.keys()) for q, sl in qs.items()} for r, qs in counts.items()}
        except AttributeError:
            return ["result counts are malformed"]
        if shape != expected_shape:
            return ["result counts do not cover exactly the tally's regions, questions, options"]
        problems = []
        for r, qs in s.tally.items():
            for qid, slots in qs.items():
                for slot, ct in slots.items():
                    n = counts[r][qid][slot]
                    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                        problems.append(f"{r}/{qid}/{slot}: count is not a natural number")
                        continue
                    dd = g.prod(
                        g.pow(codec.element(g, good[u][r][qid][slot]["share"]), lam[u])
                        for u in used
                    )
                    if g.div(ct.beta, dd) != g.g_pow(n):
                        problems.append(f"{r}/{qid}/{slot}: {n} is not the decryption of the tally")
        if not problems:
            s.results = counts
        return problems

    # V20 -------------------------------------------------------------------------------
    def check_v20(self) -> list[str] | None:
        s = self.s
        items = s.of_type("challenged_ballot")
        if not items:
            return None
        m, g = s.need_manifest(), s.need_group()
        ctx, jk = s.need_context()
        bctx = BallotContext(g.name, m.raw, ctx.hex(), jk.hex())
        problems = []
        for i, e in items:
            msg = check_challenged(bctx, i, e.data)
            if msg:
                problems.append(f"entry {i}: {msg}")
        return problems

    # V21 -------------------------------------------------------------------------------
    def check_v21(self) -> list[str] | None:
        m = self.s.need_manifest()
        g = m.raw["guardians"]
        if "min_jurisdictions" not in g and not g.get("organiser_cannot_decrypt"):
            raise NotApplicable("the referendum file sets no jurisdiction rule")
        return jurisdiction_problems(m)

    # V22 -------------------------------------------------------------------------------
    def witnesses(self) -> dict[str, str]:
        s = self.s
        accredited = [e.data.get("observer") for _, e in s.of_type("observer_accreditation")]
        return witness_keys(s.need_manifest(), accredited)

    def check_v22(self) -> list[str] | None:
        s = self.s
        m = s.need_manifest()
        quorum = witness_quorum(m)
        if quorum == 0:
            raise NotApplicable("unwitnessed: the referendum file sets no witness quorum")
        final = getattr(self, "_final", None)
        if final is None:
            raise CannotRun("no readable checkpoint (V02)")
        witnesses = self.witnesses()
        problems, cosigs = [], []
        for n, line in enumerate(s.raw.cosignatures):
            try:
                cs = Cosignature.from_json(loads(line))
            except (ValueError, CanonicalError) as exc:
                problems.append(f"cosignature {n}: {exc}")
                continue
            if witnesses.get(cs.witness) != cs.key:
                problems.append(f"cosignature {n}: {cs.witness!r} is not a witness here")
            elif not verify_cosignature(cs):
                problems.append(f"cosignature {n}: invalid signature by {cs.witness}")
            elif not any(cs.about(cp) for cp in self._checkpoints):
                problems.append(
                    f"cosignature {n}: {cs.witness} cosigned a checkpoint (size"
                    f" {cs.checkpoint.size}) that is not in this record: the board may have"
                    " shown another history"
                )
            cosigs.append(cs)
        targets = [("final", final)]
        closes = s.of_type("close")
        if closes:
            close_cp = next((cp for cp in self._checkpoints if cp.size > closes[0][0]), None)
            if close_cp is None:
                problems.append("no checkpoint covers the close entry")
            else:
                targets.insert(0, ("close", close_cp))
        for name, cp in targets:
            got = trusted_by(cp, cosigs, witnesses)
            if len(got) < quorum:
                problems.append(
                    f"the {name} checkpoint (size {cp.size}) has {len(got)} of the"
                    f" {quorum} witness cosignatures it needs"
                )
        return problems


def verify_record(
    raw: RawRecord,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    scheduler: str | None = None,
) -> Report:
    """Verify ``raw``; ballot batches on ``workers`` local processes, or, given a Dask
    ``scheduler`` address (tcp://HOST:PORT), on that cluster's workers (same report).
    An unreachable scheduler raises ConnectionError."""
    v = Verifier(raw, workers or os.cpu_count() or 1)
    v.progress = progress
    v.scheduler = scheduler
    return v.run()


def region_turnout(report: Report) -> dict[str, int]:
    return defaultdict(int)  # placeholder for forensics (issue 4)
