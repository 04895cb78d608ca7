"""Verify an ElectionGuard 1.x election record (as electionguard-python 1.4.0 exports it).

``plebiscite verify DIR --format electionguard`` reads the folder written by
``electionguard_tools.helpers.export.export_record`` (manifest.json, context.json,
constants.json, coefficients.json, encryption_devices/, guardians/, submitted_ballots/,
spoiled_ballots/, encrypted_tally.json, tally.json) and runs the ElectionGuard 1.0
verification steps as numbered checks E01-E12 in the verifier's own report format. The
arithmetic is done in the pinned group ``electionguard-1``; the record's constants.json
is compared with it, never used. See docs/interop-electionguard.md for each mapping.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plebiscite.crypto import constants as pinned
from plebiscite.crypto.group import Element
from plebiscite.interop.electionguard_ballots import (
    CAST,
    SPOILED,
    BallotContext,
    BallotOutcome,
    check_batch,
)
from plebiscite.interop.electionguard_crypto import (
    GROUP_NAME,
    Bad,
    Hx,
    check_schnorr,
    check_share_proof,
    ciphertext,
    element,
    group,
    hash_elems,
    hx,
    integer,
    lagrange,
    obj,
    scalar,
    text,
)
from plebiscite.interop.electionguard_manifest import Manifest, parse_manifest
from plebiscite.verify.reader import RecordError
from plebiscite.verify.report import (
    CannotRun,
    CheckResult,
    CheckSpec,
    Report,
    run_check,
)
from plebiscite.verify.runners import Processes

BATCH = 16  # ballots per task for the worker processes (and per proof batch)


def _C(
    id: str,
    title: str,
    eg1: str,  # ElectionGuard 1.0 specification, verification step(s)
    eg2: str,  # the ElectionGuard 2.1 step(s) it corresponds to
    native: str,  # the plebiscite check it corresponds to
) -> CheckSpec:
    refs = (("electionguard_1_0", eg1), ("electionguard_2_1", eg2), ("plebiscite", native))
    return CheckSpec(id, title, refs)


# fmt: off
CHECKS: list[CheckSpec] = [
    _C("E01", "Election parameters are the ElectionGuard 1.0 standard ones",
       "1 (parameter validation)", "1", "V04"),
    _C("E02", "Guardian keys: coefficient commitments with valid Schnorr proofs",
       "2 (guardian public-key validation)", "2", "V07"),
    _C("E03", "Joint key, manifest hash, base hash and extended base hash recomputed",
       "3 (election public-key validation; extended base hash)", "3, 4", "V09"),
    _C("E04", "Selection encryptions: valid elements, each 0 or 1 (disjunctive proofs)",
       "4 (correctness of selection encryptions)", "6", "V11, V13"),
    _C("E05", "Contests: complete, with placeholders, within the selection limit",
       "5 (adherence to vote limits)", "7", "V13"),
    _C("E06", "Ballot hashes and tracking codes chain from an encryption device",
       "6 (validation of ballot chaining)", "8, 5.A", "V14"),
    _C("E07", "The encrypted tally is the product of the cast ballots",
       "7 (correctness of ballot aggregation)", "9", "V17"),
    _C("E08", "Tally decryption shares of the present guardians carry valid proofs",
       "8 (correctness of partial decryptions)", "10.A-10.B", "V18"),
    _C("E09", "Compensated shares for missing guardians: recovery keys and proofs",
       "9 (correctness of substitute data for missing guardians)", "- (2.x: 10.A-10.B)",
       "V18"),
    _C("E10", "Lagrange coefficients and reconstructed shares of missing guardians",
       "10 (correctness of construction of replacement partial decryptions)", "-", "V18"),
    _C("E11", "The plaintext tally is the decryption of the encrypted tally",
       "11 (validation of correct decryption of tallies)", "10.C, 11", "V19"),
    _C("E12", "Spoiled ballots: shares, proofs and decryptions to valid selections",
       "12 (correct decryption of spoiled ballots)", "13, 14", "V20"),
]
# fmt: on


# --- reading the folder ---------------------------------------------------------------


def _load(path: Path, *, required: bool) -> Any:
    try:
        with path.open("rb") as f:
            return json.load(f)
    except FileNotFoundError as exc:
        if required:
            raise RecordError(f"{path}: missing (is this an ElectionGuard 1.x record?)") from exc
        return None
    except OSError as exc:
        raise RecordError(f"{path}: cannot read ({exc.strerror})") from exc
    except ValueError as exc:
        raise RecordError(f"{path}: not JSON ({exc})") from exc


def _load_dir(path: Path) -> list[tuple[str, Any]]:
    if not path.is_dir():
        return []
    return [(p.name, _load(p, required=True)) for p in sorted(path.glob("*.json"))]


@dataclass
class Record:
    path: Path
    manifest: Any
    context: Any
    constants: Any
    coefficients: Any
    guardians: list[tuple[str, Any]]
    devices: list[tuple[str, Any]]
    ballot_paths: list[str]
    spoiled: list[tuple[str, Any]]
    encrypted_tally: Any
    tally: Any

    @property
    def files(self) -> int:
        fixed = [self.manifest, self.context, self.constants, self.coefficients]
        fixed += [self.encrypted_tally, self.tally]
        return (
            sum(x is not None for x in fixed)
            + len(self.guardians)
            + len(self.devices)
            + len(self.ballot_paths)
            + len(self.spoiled)
        )


def read_record(path: Path) -> Record:
    path = Path(path)
    if not path.is_dir():
        raise RecordError(f"{path}: not a directory")
    ballots = path / "submitted_ballots"
    return Record(
        path=path,
        manifest=_load(path / "manifest.json", required=True),
        context=_load(path / "context.json", required=True),
        constants=_load(path / "constants.json", required=True),
        coefficients=_load(path / "coefficients.json", required=False),
        guardians=_load_dir(path / "guardians"),
        devices=_load_dir(path / "encryption_devices"),
        ballot_paths=[str(p) for p in sorted(ballots.glob("*.json"))] if ballots.is_dir() else [],
        spoiled=_load_dir(path / "spoiled_ballots"),
        encrypted_tally=_load(path / "encrypted_tally.json", required=False),
        tally=_load(path / "tally.json", required=False),
    )


# --- the checks -------------------------------------------------------------------------


@dataclass
class Guardian:
    guardian_id: str
    sequence_order: int
    commitments: list[Element]

    @property
    def key(self) -> Element:
        return self.commitments[0]


@dataclass
class Findings:
    """Problems found while checking decryptions, by the check they belong to."""

    e08: list[str] = field(default_factory=list)
    e09: list[str] = field(default_factory=list)
    e10: list[str] = field(default_factory=list)
    e11: list[str] = field(default_factory=list)
    compensated: int = 0


class Verifier:
    def __init__(self, rec: Record, workers: int) -> None:
        self.rec = rec
        self.workers = max(1, workers)
        self.g = group()
        self.manifest: Manifest | None = None
        self.manifest_problem: str | None = None
        self.guardians: dict[str, Guardian] = {}
        self.n = 0
        self.k = 0
        self.qbar: int | None = None
        self.public_key: Element | None = None
        self.context_hash: int | None = None
        self.outcomes: list[BallotOutcome] | None = None
        self.tally_ciphertexts: dict[tuple[str, str], tuple[Element, Element]] = {}
        self.coefficients: dict[str, int] | None = None
        self.coefficient_problems: list[str] = []
        self._recovery: dict[tuple[str, str], Element] = {}
        self.tally_findings: Findings | None = None
        self.results: dict[str, Any] | None = None
        self.timings: dict[str, float] = {}
        self.progress: Callable[[int, int], None] | None = None
        self._read_context()

    # -- shared state ----------------------------------------------------------------
    def _read_context(self) -> None:
        ctx = self.rec.context
        if not isinstance(ctx, dict):
            raise RecordError(f"{self.rec.path / 'context.json'}: not an object")
        try:
            self.n = integer(ctx.get("number_of_guardians"), "number_of_guardians", 1)
            self.k = integer(ctx.get("quorum"), "quorum", 1)
        except Bad as exc:
            raise RecordError(f"{self.rec.path / 'context.json'}: {exc}") from exc
        try:
            self.manifest = parse_manifest(self.rec.manifest)
        except Bad as exc:
            self.manifest_problem = f"manifest.json: {exc}"
        try:
            self.qbar = scalar(ctx.get("crypto_extended_base_hash"), "crypto_extended_base_hash")
        except Bad:
            self.qbar = None
        try:
            self.public_key = element(ctx.get("elgamal_public_key"), "elgamal_public_key")
            self.g.precompute(self.public_key)
        except Bad:
            self.public_key = None

    def need_manifest(self) -> Manifest:
        if self.manifest is None:
            raise CannotRun(self.manifest_problem or "no manifest")
        return self.manifest

    def need_keys(self) -> tuple[Element, int]:
        if self.public_key is None:
            raise CannotRun("context.json: elgamal_public_key is not a group element")
        if self.qbar is None:
            raise CannotRun("context.json: crypto_extended_base_hash is not in range")
        return self.public_key, self.qbar

    def run(self) -> Report:
        out = []
        for spec in CHECKS:
            status, details = run_check(getattr(self, "check_" + spec.id.lower()))
            out.append(CheckResult(spec.id, spec.title, status, details[:50], spec.references))
        outcomes = self.outcomes or []
        m = self.manifest
        summary = {
            "format": "electionguard-1.x",
            "group": GROUP_NAME,
            "title": (m.name or m.scope_id) if m else None,
            "election_scope_id": m.scope_id if m else None,
            "entries": self.rec.files,
            "ballots": len(self.rec.ballot_paths),
            "counted": sum(o.state == CAST for o in outcomes),
            "challenged": sum(o.state == SPOILED for o in outcomes),
            "guardians": self.n,
            "quorum": self.k,
            "stage": "decided"
            if self.rec.tally is not None
            else "tallied"
            if self.rec.encrypted_tally is not None
            else "voting",
            "seconds": self.timings,
        }
        return Report(out, summary, self.results, None)

    # -- E01 ---------------------------------------------------------------------------
    def check_e01(self) -> list[str]:
        problems = []
        c = self.rec.constants
        if not isinstance(c, dict):
            return ["constants.json: not an object"]
        p, q, gen = pinned.ELECTIONGUARD1_P, pinned.ELECTIONGUARD1_Q, pinned.ELECTIONGUARD1_G
        expected = {"large_prime": p, "small_prime": q, "cofactor": (p - 1) // q, "generator": gen}
        for name, value in expected.items():
            got = c.get(name)
            try:
                ok = isinstance(got, str) and int(got, 16) == value
            except ValueError:
                ok = False
            if not ok:
                problems.append(
                    f"constants.json: {name} is not the ElectionGuard 1.0 standard value"
                )
        if not 1 <= self.k <= self.n:
            problems.append(f"context.json: quorum {self.k} not in 1..{self.n}")
        return problems

    # -- E02 ---------------------------------------------------------------------------
    def check_e02(self) -> list[str]:
        problems: list[str] = []
        if not self.rec.guardians:
            raise CannotRun("no guardian records (guardians/)")
        orders: dict[int, str] = {}
        for name, raw in self.rec.guardians:
            try:
                d = obj(raw, name)
                gid = text(d.get("guardian_id"), f"{name} guardian_id")
                seq = integer(d.get("sequence_order"), f"{name} sequence_order", 1, self.g.q - 1)
                commitments = d.get("election_commitments")
                proofs = d.get("election_proofs")
                if not isinstance(commitments, list) or not isinstance(proofs, list):
                    raise Bad(f"{name}: commitments and proofs must be lists")
                ks = [
                    element(x, f"guardian {gid} commitment {j}") for j, x in enumerate(commitments)
                ]
            except Bad as exc:
                problems.append(str(exc))
                continue
            if gid in self.guardians:
                problems.append(f"guardian {gid}: listed twice")
                continue
            if seq in orders:
                problems.append(f"guardian {gid}: sequence order {seq} also used by {orders[seq]}")
            orders[seq] = gid
            if len(ks) != self.k or len(proofs) != len(ks):
                problems.append(
                    f"guardian {gid}: {len(ks)} commitments and {len(proofs)} proofs "
                    f"for quorum {self.k}"
                )
            try:
                if not ks or element(d.get("election_public_key"), f"guardian {gid} key") != ks[0]:
                    problems.append(f"guardian {gid}: election_public_key is not commitment 0")
            except Bad as exc:
                problems.append(str(exc))
            for j, (kj, proof) in enumerate(zip(ks, proofs, strict=False)):
                try:
                    check_schnorr(kj, proof, f"guardian {gid} proof {j}")
                except Bad as exc:
                    problems.append(str(exc))
            if ks:
                self.guardians[gid] = Guardian(gid, seq, ks)
        if len(self.rec.guardians) != self.n:
            problems.append(f"{len(self.rec.guardians)} guardian records for {self.n} guardians")
        return problems

    # -- E03 ---------------------------------------------------------------------------
    def check_e03(self) -> list[str]:
        problems: list[str] = []
        ctx = self.rec.context
        if self.manifest is None:
            problems.append(self.manifest_problem or "manifest.json unusable")
        try:
            manifest_hash = scalar(ctx.get("manifest_hash"), "context manifest_hash")
            commitment_hash = scalar(ctx.get("commitment_hash"), "context commitment_hash")
            base = scalar(ctx.get("crypto_base_hash"), "context crypto_base_hash")
            qbar = scalar(ctx.get("crypto_extended_base_hash"), "context crypto_extended_base_hash")
        except Bad as exc:
            return [*problems, str(exc)]
        if self.public_key is None:
            problems.append("context.json: elgamal_public_key is not a group element")
        if not self.guardians:
            raise CannotRun("no valid guardian record (E02)")
        ordered = sorted(self.guardians.values(), key=lambda x: x.sequence_order)
        joint = self.g.prod(x.key for x in ordered)
        if self.public_key is not None and joint != self.public_key:
            problems.append("elgamal_public_key is not the product of the guardians' keys")
        commitments = [hx(c) for x in ordered for c in x.commitments]
        if commitment_hash != hash_elems(commitments):
            problems.append("commitment_hash is not H(all guardians' commitments)")
        if self.manifest is not None and manifest_hash != self.manifest.manifest_hash:
            problems.append("manifest_hash is not the hash of manifest.json")
        p, q, gen = pinned.ELECTIONGUARD1_P, pinned.ELECTIONGUARD1_Q, pinned.ELECTIONGUARD1_G
        want_base = hash_elems(Hx(p), Hx(q), Hx(gen), self.n, self.k, Hx(manifest_hash))
        if base != want_base:
            problems.append("crypto_base_hash is not H(p, q, g, n, k, manifest hash)")
        if qbar != hash_elems(Hx(want_base), Hx(commitment_hash)):
            problems.append("crypto_extended_base_hash is not H(base hash, commitment hash)")
        return problems

    # -- the ballot pass (E04-E06) -----------------------------------------------------
    def ballot_outcomes(self) -> list[BallotOutcome]:
        if self.outcomes is not None:
            return self.outcomes
        m = self.need_manifest()
        key, qbar = self.need_keys()
        try:  # ballots are checked against the context's hash (E03 checks it)
            manifest_hash = scalar(self.rec.context.get("manifest_hash"), "manifest_hash")
        except Bad:
            manifest_hash = m.manifest_hash
        ctx = BallotContext(int(key.value), qbar, manifest_hash, m)
        paths = self.rec.ballot_paths
        size = max(1, min(BATCH, -(-len(paths) // self.workers)))  # >= one batch per worker
        batches = [paths[i : i + size] for i in range(0, len(paths), size)]
        outcomes: list[BallotOutcome] = []
        started = time.perf_counter()
        if self.workers == 1 or len(batches) <= 1:
            for b in batches:
                outcomes.extend(check_batch(ctx, b))
                if self.progress:
                    self.progress(len(outcomes), len(paths))
        else:
            runner = Processes(min(self.workers, len(batches)))
            try:
                handles = [runner.submit(check_batch, ctx, b) for b in batches]
                for handle in handles:
                    outcomes.extend(runner.result(handle))
                    if self.progress:
                        self.progress(len(outcomes), len(paths))
            finally:
                runner.close()
        self.timings["ballots"] = round(time.perf_counter() - started, 3)
        self.outcomes = outcomes
        return outcomes

    def check_e04(self) -> list[str] | None:
        if not self.rec.ballot_paths:
            return None
        problems = []
        for o in self.ballot_outcomes():
            if o.unreadable:
                problems.append(o.unreadable)
            problems.extend(o.e04)
        return problems

    def check_e05(self) -> list[str] | None:
        if not self.rec.ballot_paths:
            return None
        return [p for o in self.ballot_outcomes() if not o.unreadable for p in o.e05]

    def check_e06(self) -> list[str] | None:
        if not self.rec.ballot_paths:
            return None
        outcomes = [o for o in self.ballot_outcomes() if not o.unreadable]
        problems = [p for o in outcomes for p in o.e06]
        devices: dict[int, str] = {}
        for name, raw in self.rec.devices:
            try:
                d = obj(raw, name)
                h = hash_elems(
                    integer(d.get("device_id"), f"{name} device_id"),
                    integer(d.get("session_id"), f"{name} session_id"),
                    integer(d.get("launch_code"), f"{name} launch_code"),
                    text(d.get("location"), f"{name} location"),
                )
            except Bad as exc:
                problems.append(str(exc))
                continue
            devices[h] = name
        if not devices:
            problems.append("no encryption device record to start the ballot chains")
        ids: set[str] = set()
        by_code: dict[int, BallotOutcome] = {}
        for o in outcomes:
            if o.object_id in ids:
                problems.append(f"ballot id {o.object_id} appears twice")
            ids.add(o.object_id or "")
            if o.code is None:
                continue
            if o.code in by_code:
                problems.append(
                    f"ballots {by_code[o.code].object_id} and {o.object_id} share a code"
                )
            by_code[o.code] = o
        successors: dict[int, str] = {}
        for o in outcomes:
            if o.code_seed is None:
                continue
            prev = by_code.get(o.code_seed)
            if o.code_seed not in devices and prev is None:
                problems.append(
                    f"ballot {o.object_id}: code_seed is neither a device hash nor a ballot's code"
                )
            if o.code_seed in successors:
                problems.append(
                    f"ballots {successors[o.code_seed]} and {o.object_id} chain from the same code"
                )
            successors[o.code_seed] = o.object_id or ""
            if prev is not None and (o.timestamp or 0) < (prev.timestamp or 0):
                problems.append(f"ballot {o.object_id}: timestamp earlier than its predecessor's")
        return problems

    # -- E07 ---------------------------------------------------------------------------
    def check_e07(self) -> list[str] | None:
        m = self.need_manifest()
        et = self.rec.encrypted_tally
        if et is None:
            if not self.rec.ballot_paths:
                return None
            raise CannotRun("encrypted_tally.json is missing")
        outcomes = self.ballot_outcomes() if self.rec.ballot_paths else []
        problems: list[str] = []
        products: dict[tuple[str, str], tuple[Element, Element]] = {}
        one = self.g.identity()
        for o in outcomes:
            if o.unreadable:
                continue
            if o.state not in (CAST, SPOILED):
                problems.append(
                    f"ballot {o.object_id}: state {o.state} is neither cast nor spoiled"
                )
                continue
            if o.state != CAST:
                continue
            for sel, (a, b) in o.selections.items():
                pa, pb = products.get(sel, (one, one))
                products[sel] = (pa * self._el(a), pb * self._el(b))
        try:
            et = obj(et, "encrypted_tally.json")
            contests = obj(et.get("contests"), "encrypted_tally.json contests")
        except Bad as exc:
            return [*problems, str(exc)]
        if set(contests) != set(m.contests):
            problems.append("encrypted tally contests are not the manifest's")
        for cid, desc in m.contests.items():
            try:
                c = obj(contests.get(cid), f"encrypted tally contest {cid}")
                if scalar(c.get("description_hash"), f"{cid} description_hash") != (
                    desc.description_hash
                ):
                    problems.append(f"encrypted tally contest {cid}: description hash mismatch")
                sels = obj(c.get("selections"), f"encrypted tally contest {cid} selections")
            except Bad as exc:
                problems.append(str(exc))
                continue
            if set(sels) != {s.object_id for s in desc.selections}:
                problems.append(f"encrypted tally contest {cid}: selections are not the manifest's")
            for sd in desc.selections:
                w = f"encrypted tally {cid}/{sd.object_id}"
                try:
                    s = obj(sels.get(sd.object_id), w)
                    if scalar(s.get("description_hash"), f"{w} description_hash") != (
                        sd.description_hash
                    ):
                        problems.append(f"{w}: description hash mismatch")
                    ct = ciphertext(s.get("ciphertext"), f"{w} ciphertext")
                except Bad as exc:
                    problems.append(str(exc))
                    continue
                self.tally_ciphertexts[(cid, sd.object_id)] = ct
                if ct != products.get((cid, sd.object_id), (one, one)):
                    problems.append(f"{w}: not the product of the cast ballots' encryptions")
        return problems

    def _el(self, v: int) -> Element:
        # Values already checked for membership in the ballot pass (E04).
        return Element(self.g, type(self.g.identity().value)(v))

    # -- decryptions (E08-E12) ----------------------------------------------------------
    def _coefficients(self) -> dict[str, int]:
        if self.coefficients is not None:
            return self.coefficients
        self.coefficients = {}
        raw = self.rec.coefficients
        if raw is None:
            self.coefficient_problems.append("coefficients.json is missing")
            return self.coefficients
        try:
            d = obj(obj(raw, "coefficients.json").get("coefficients"), "coefficients")
            for gid, v in d.items():
                self.coefficients[gid] = scalar(v, f"coefficient of guardian {gid}")
        except Bad as exc:
            self.coefficient_problems.append(str(exc))
        return self.coefficients

    def _recovery_key(self, missing: Guardian, present: Guardian) -> Element:
        """``g^{P_i(l)} = prod_j K_ij^(l^j)`` from the missing guardian's commitments."""
        key = (missing.guardian_id, present.guardian_id)
        rk = self._recovery.get(key)
        if rk is None:
            q = self.g.q
            rk = self.g.prod(
                c ** pow(present.sequence_order, j, q) for j, c in enumerate(missing.commitments)
            )
            self._recovery[key] = rk
        return rk

    def _decrypt(
        self,
        sel: Any,
        ct: tuple[Element, Element],
        where: str,
        f: Findings,
        bound: int,
    ) -> int | None:
        """Check one decrypted selection against its ciphertext; its count, if sound."""
        qbar = self.need_keys()[1]
        pad, data = ct
        try:
            sel = obj(sel, where)
            message = ciphertext(sel.get("message"), f"{where} message")
            shares = sel.get("shares")
            if not isinstance(shares, list):
                raise Bad(f"{where}: shares is not a list")
        except Bad as exc:
            f.e11.append(str(exc))
            return None
        if message != ct:
            f.e11.append(f"{where}: the decrypted message is not the ciphertext to decrypt")
        coefficients = self._coefficients()
        product = self.g.identity()
        seen: set[str] = set()
        sound = True
        for sh in shares:
            try:
                sh = obj(sh, f"{where} share")
                gid = text(sh.get("guardian_id"), f"{where} share guardian_id")
                w = f"{where} share of guardian {gid}"
                share = element(sh.get("share"), w)
            except Bad as exc:
                f.e08.append(str(exc))
                sound = False
                continue
            guardian = self.guardians.get(gid)
            if guardian is None or gid in seen:
                f.e08.append(f"{w}: unknown guardian or second share")
                sound = False
                continue
            seen.add(gid)
            product = product * share
            proof, parts = sh.get("proof"), sh.get("recovered_parts")
            if (proof is None) == (parts is None):
                f.e08.append(f"{w}: needs exactly one of a proof or recovered parts")
                sound = False
            elif proof is not None:
                try:
                    check_share_proof(guardian.key, qbar, pad, data, share, proof, f"{w} proof")
                except Bad as exc:
                    f.e08.append(str(exc))
                    sound = False
            else:
                f.compensated += 1
                sound &= self._compensated(guardian, share, parts, ct, qbar, w, f, coefficients)
        missing = sorted(set(self.guardians) - seen)
        if missing:
            f.e08.append(f"{where}: no share from guardians {missing}")
            sound = False
        value = data / product
        try:
            published = element(sel.get("value"), f"{where} value")
            count = integer(sel.get("tally"), f"{where} tally", 0, bound)
        except Bad as exc:
            f.e11.append(str(exc))
            return None
        if published != value:
            f.e11.append(f"{where}: value is not B / prod(M_i)")
            sound = False
        if self.g.g_pow(count) != published:
            f.e11.append(f"{where}: g^tally is not the decrypted value")
            sound = False
        return count if sound else None

    def _compensated(
        self,
        missing: Guardian,
        share: Element,
        parts: Any,
        ct: tuple[Element, Element],
        qbar: int,
        w: str,
        f: Findings,
        coefficients: dict[str, int],
    ) -> bool:
        sound = True
        try:
            parts = obj(parts, f"{w} recovered_parts")
        except Bad as exc:
            f.e09.append(str(exc))
            return False
        if set(parts) != set(coefficients):
            f.e10.append(
                f"{w}: recovered from {sorted(parts)}, not from the guardians with "
                f"Lagrange coefficients {sorted(coefficients)}"
            )
            sound = False
        rebuilt = self.g.identity()
        for lid, part in parts.items():
            pw = f"{w} part from {lid}"
            present = self.guardians.get(lid)
            try:
                part = obj(part, pw)
                if present is None or lid == missing.guardian_id:
                    raise Bad(f"{pw}: not from another known guardian")
                if part.get("guardian_id") != lid or part.get("missing_guardian_id") != (
                    missing.guardian_id
                ):
                    raise Bad(f"{pw}: guardian ids do not match")
                rk = self._recovery_key(missing, present)
                if element(part.get("recovery_key"), f"{pw} recovery_key") != rk:
                    raise Bad(f"{pw}: recovery key is not prod K_ij^(l^j)")
                part_share = element(part.get("share"), f"{pw} share")
            except Bad as exc:
                f.e09.append(str(exc))
                sound = False
                continue
            if lid in coefficients:
                rebuilt = rebuilt * part_share ** coefficients[lid]
            try:
                check_share_proof(rk, qbar, ct[0], ct[1], part_share, part.get("proof"), pw)
            except Bad as exc:
                f.e09.append(str(exc))
                sound = False
        if rebuilt != share:
            f.e10.append(f"{w}: share is not prod(M_il ^ w_l) over the recovered parts")
            sound = False
        return sound

    def _check_coefficients(self, direct: set[str]) -> list[str]:
        coefficients = self._coefficients()
        problems = list(self.coefficient_problems)
        if not coefficients:
            return problems
        if set(coefficients) != direct:
            problems.append(
                f"coefficients are for {sorted(coefficients)}, the guardians who decrypted "
                f"were {sorted(direct)}"
            )
        if len(coefficients) < self.k:
            problems.append(
                f"{len(coefficients)} guardians decrypted, fewer than the quorum {self.k}"
            )
        orders = {gid: g.sequence_order for gid, g in self.guardians.items() if gid in coefficients}
        for gid, w in coefficients.items():
            if gid not in orders:
                problems.append(f"coefficient for unknown guardian {gid}")
                continue
            others = [o for x, o in orders.items() if x != gid]
            if w != lagrange(orders[gid], others):
                problems.append(f"Lagrange coefficient of guardian {gid} is wrong")
        return problems

    def _tally(self) -> Findings:
        if self.tally_findings is not None:
            return self.tally_findings
        f = Findings()
        self.tally_findings = f
        m = self.need_manifest()
        self.need_keys()
        if self.rec.tally is None:
            raise CannotRun("tally.json is missing")
        if self.rec.encrypted_tally is not None and not self.tally_ciphertexts:
            self.check_e07()
        cast = sum(
            o.state == CAST for o in (self.ballot_outcomes() if self.rec.ballot_paths else [])
        )
        results: dict[str, dict[str, int]] = {}
        complete = True
        try:
            t = obj(self.rec.tally, "tally.json")
            contests = obj(t.get("contests"), "tally.json contests")
        except Bad as exc:
            f.e11.append(str(exc))
            return f
        if set(contests) != set(m.contests):
            f.e11.append("tally contests are not the manifest's")
        for cid, desc in m.contests.items():
            try:
                c = obj(contests.get(cid), f"tally contest {cid}")
                sels = obj(c.get("selections"), f"tally contest {cid} selections")
            except Bad as exc:
                f.e11.append(str(exc))
                complete = False
                continue
            if set(sels) != {s.object_id for s in desc.selections}:
                f.e11.append(f"tally contest {cid}: selections are not the manifest's")
            counts: dict[str, int] = {}
            for sd in desc.selections:
                ct = self.tally_ciphertexts.get((cid, sd.object_id))
                w = f"tally {cid}/{sd.object_id}"
                if ct is None:
                    f.e11.append(f"{w}: no encrypted tally to compare with")
                    complete = False
                    continue
                n = self._decrypt(sels.get(sd.object_id), ct, w, f, cast)
                if n is None:
                    complete = False
                else:
                    counts[sd.object_id] = n
            if sum(counts.values()) > desc.number_elected * cast:
                f.e11.append(f"tally contest {cid}: more selections than {cast} ballots allow")
            results[cid] = counts
        if complete and not f.e11:
            self.results = {m.scope_id: results}
        return f

    def _direct(self) -> set[str]:
        """The guardians who decrypted themselves (their shares carry proofs)."""
        t = self.rec.tally
        direct: set[str] = set()
        if not isinstance(t, dict) or not isinstance(t.get("contests"), dict):
            return direct
        for c in t["contests"].values():
            for s in (c.get("selections") or {}).values() if isinstance(c, dict) else []:
                for sh in s.get("shares") or [] if isinstance(s, dict) else []:
                    if isinstance(sh, dict) and sh.get("proof") is not None:
                        direct.add(str(sh.get("guardian_id")))
        return direct

    def check_e08(self) -> list[str] | None:
        if self.rec.tally is None and not self.rec.ballot_paths:
            return None
        return self._tally().e08

    def check_e09(self) -> list[str] | None:
        if self.rec.tally is None and not self.rec.ballot_paths:
            return None
        f = self._tally()
        if not f.compensated and not f.e09:
            return None
        return f.e09

    def check_e10(self) -> list[str] | None:
        if self.rec.tally is None and not self.rec.ballot_paths:
            return None
        f = self._tally()
        if not f.compensated and self.rec.coefficients is None:
            return None
        return self._check_coefficients(self._direct()) + f.e10

    def check_e11(self) -> list[str] | None:
        if self.rec.tally is None and not self.rec.ballot_paths:
            return None
        return self._tally().e11

    # -- E12 ---------------------------------------------------------------------------
    def check_e12(self) -> list[str] | None:
        outcomes = self.ballot_outcomes() if self.rec.ballot_paths else []
        spoiled = {o.object_id or "": o for o in outcomes if o.state == SPOILED}
        if not spoiled and not self.rec.spoiled:
            return None
        m = self.need_manifest()
        problems: list[str] = []
        decrypted: set[str] = set()
        for name, raw in self.rec.spoiled:
            f = Findings()
            try:
                d = obj(raw, name)
                bid = text(d.get("object_id"), f"{name} object_id")
                contests = obj(d.get("contests"), f"{name} contests")
            except Bad as exc:
                problems.append(str(exc))
                continue
            o = spoiled.get(bid)
            if o is None:
                problems.append(f"{name}: ballot {bid} is not a spoiled ballot of the record")
                continue
            if bid in decrypted:
                problems.append(f"{name}: ballot {bid} decrypted twice")
            decrypted.add(bid)
            wanted = {cid for cid, _ in o.selections}
            if set(contests) != wanted:
                problems.append(f"spoiled ballot {bid}: contests are not the ballot's")
            for cid in sorted(wanted):
                desc = m.contests[cid]
                try:
                    sels = obj(obj(contests.get(cid), cid).get("selections"), f"{cid} selections")
                except Bad as exc:
                    problems.append(f"spoiled ballot {bid}: {exc}")
                    continue
                ids = {sid for c, sid in o.selections if c == cid}
                if set(sels) != ids:
                    problems.append(f"spoiled ballot {bid} contest {cid}: selections differ")
                total = 0
                for sid in sorted(ids):
                    a, b = o.selections[(cid, sid)]
                    n = self._decrypt(
                        sels.get(sid),
                        (self._el(a), self._el(b)),
                        f"spoiled ballot {bid} {cid}/{sid}",
                        f,
                        1,
                    )
                    total += n or 0
                if total > desc.number_elected:
                    problems.append(f"spoiled ballot {bid} contest {cid}: over the limit")
            problems += [f"[share] {x}" for x in f.e08] + [f"[compensated] {x}" for x in f.e09]
            problems += [f"[reconstruction] {x}" for x in f.e10]
            problems += [f"[decryption] {x}" for x in f.e11]
        for bid in sorted(set(spoiled) - decrypted):
            problems.append(f"spoiled ballot {bid}: no decryption published")
        return problems


def verify_foreign(path: Path, workers: int | None = None) -> Report:
    """Verify an ElectionGuard 1.x record folder; :class:`RecordError` if unusable."""
    rec = read_record(Path(path))
    return Verifier(rec, workers or os.cpu_count() or 1).run()


def time_ballots(path: Path, workers: int | None = 1) -> dict[str, float]:
    """Benchmark helper (issue 6): the ballot pass alone (steps 4-6) on a record.

    Returns the number of ballots, selections checked, wall seconds and seconds per
    ballot and per selection proof, with ``workers`` processes (1 by default).
    """
    rec = read_record(Path(path))
    v = Verifier(rec, workers or os.cpu_count() or 1)
    started = time.perf_counter()
    outcomes = v.ballot_outcomes()
    wall = time.perf_counter() - started
    n = max(1, len(outcomes))
    selections = 0
    m = v.need_manifest()
    for cid in m.contests:
        d = m.contests[cid]
        selections += len(d.selections) + len(d.placeholders)
    return {
        "ballots": float(len(outcomes)),
        "selection_proofs_per_ballot": float(selections),
        "seconds": round(wall, 3),
        "seconds_per_ballot": round(wall / n, 4),
        "seconds_per_selection": round(wall / n / max(1, selections), 5),
        "workers": float(v.workers),
    }
