"""Verify a Belenios 2.0 election archive with the verifier's check framework.

``plebiscite verify DIR --format belenios`` reads the directory holding the election's
``<uuid>.bel`` archive and runs the numbered checks B01-B16 below: every check
``belenios-tool election verify`` (2.0) makes for homomorphic questions, plus B13, which
it does not make (it recomputes the encrypted tally from the ballots and never compares
it with the stored one). Each check returns data (id, title, status, details,
references) like the native checks; a check whose inputs are missing because of an
earlier failure fails with "cannot run", and one with nothing to check is
``not_applicable``. Non-homomorphic (mixnet) questions are not supported yet: they raise
:class:`~plebiscite.verify.reader.RecordError`, as do unreadable inputs.

The formats are documented in ``docs/interop-belenios.md``; the cryptography is in
:mod:`plebiscite.interop.belenios_crypto`, the archive in
:mod:`plebiscite.interop.belenios_archive`.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gmpy2

from plebiscite.crypto.group import Element, GroupError
from plebiscite.interop.belenios_archive import (
    Archive,
    ArchiveError,
    Event,
    RebuildError,
    read_archive,
    rebuild,
    sha256_hex,
)
from plebiscite.interop.belenios_crypto import (
    GROUPS,
    BallotContext,
    BallotOutcome,
    Ctx,
    FormatError,
    QuestionH,
    b64_sha256,
    check_ballot_batch,
    number,
)
from plebiscite.verify.reader import RecordError
from plebiscite.verify.report import (
    CannotRun,
    CheckResult,
    CheckSpec,
    NotApplicable,
    Report,
    run_check,
)
from plebiscite.verify.runners import Processes

BATCH = 8

SPEC = "Belenios specification 2.0"
TOOL = "belenios-tool 2.0 election verify"


def _B(
    id: str,
    title: str,
    spec: str,  # sections of the Belenios 2.0 specification
    tool: str,  # what belenios-tool 2.0 does (src/tool/tool_election.ml, src/lib/...)
    electionguard: str = "-",
) -> CheckSpec:
    refs = (
        ("belenios_spec_2_0", spec),
        ("belenios_tool_2_0", tool),
        ("electionguard_2_1", electionguard),
    )
    return CheckSpec(id, title, refs)


# fmt: off
CHECKS: list[CheckSpec] = [
    _B("B01", "The archive is a Belenios archive whose records hash to their names",
       "4.4 (public data)", "fsck: Archive reader, get_hash"),
    _B("B02", "Events form one hash chain, in protocol order", "3.5.1, 4.4",
       "fsck: parent and height of every event"),
    _B("B03", "The archive is canonical: identical to its rebuild from the last event",
       "4.4", "fsck: regenerated archive identical to the original"),
    _B("B04", "The election parameters are valid", "4.9, 4.10",
       "Election.of_string; group; homomorphic questions", "1 (parameter validation)"),
    _B("B05", "Trustee public keys are group elements with valid proofs of knowledge",
       "4.5, 4.7", "Trustees.check: check_single", "2 (guardian public-key validation)"),
    _B("B06", "Threshold trustees: signed certificates and coefficients, verification keys",
       "4.6, 4.7", "Trustees.check: check_pedersen"),
    _B("B07", "The election public key is the product of the trustees' keys", "3.1.1, 4.7",
       "combine_keys = public_key", "3 (election public key)"),
    _B("B08", "Public credentials are distinct group elements with valid weights", "4.8",
       "parse_public_credential; duplicate credential"),
    _B("B09", "Ballots are canonical and well-formed for this election", "4.11, 4.15",
       "cast: SerializationError, NonCanonical; check_ballot (uuid, hash, elements)",
       "6.A-6.C, 7.A-7.C (membership, ranges)"),
    _B("B10", "Ballots are signed with a listed credential", "4.14, 4.15",
       "cast: InvalidCredential; check_ballot signature"),
    _B("B11", "Ballot proofs: each choice 0 or 1, each answer in min..max or blank",
       "4.11-4.13", "check_ballot: individual, overall and blank proofs",
       "6, 7 (selection and contest proofs)"),
    _B("B12", "The counted ballots are the last ballot of each credential", "3.5.1, 4.15",
       "last(B): a revote replaces, an identical ballot cast again too"),
    _B("B13", "The stored encrypted tally and its counts equal those recomputed",
       "4.16", "not checked by belenios-tool 2.0 (it recomputes and ignores the stored one)",
       "9 (ballot aggregation)"),
    _B("B14", "Partial decryptions are valid for the encrypted tally", "4.18",
       "check_factor on every supplied partial decryption", "10.A-10.B (decryption proofs)"),
    _B("B15", "Partial decryptions come from every mandatory trustee and a threshold quorum",
       "4.7, 4.19", "combine_factors: missing / not enough partial decryptions"),
    _B("B16", "The result is the decryption of the encrypted tally", "4.19",
       "check_result", "10.C, 11 (decrypted values, tally contents)"),
]
# fmt: on


@dataclass
class TrusteeKind:
    kind: str  # "Single" or "Pedersen"
    keys: list[Element]  # the key(s) whose partial decryptions count here
    threshold: int = 1
    subkey: Element | None = None


@dataclass
class State:
    path: Path
    bel: Path
    archive: Archive | None = None
    events: list[Event] = field(default_factory=list)
    index: dict[str, bytes] = field(default_factory=dict)
    setup: dict[str, str] | None = None
    election_raw: bytes | None = None
    election: dict[str, Any] | None = None
    fingerprint: str = ""
    uuid: str = ""
    ctx: Ctx | None = None
    questions: list[QuestionH] = field(default_factory=list)
    trustees: list[TrusteeKind] | None = None
    trustee_problems: list[str] = field(default_factory=list)  # "B05 ..." / "B06 ..."
    setup_problems: list[str] = field(default_factory=list)
    creds: dict[str, int] | None = None
    outcomes: list[BallotOutcome] | None = None
    counted: list[BallotOutcome] | None = None
    tally: list[list[tuple[Element, Element]]] | None = None
    pds: dict[int, list[list[Element]]] | None = None
    result: list[list[int]] | None = None


def _load_json(data: bytes | None, what: str) -> Any:
    if data is None:
        raise CannotRun(f"{what} is missing from the archive")
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CannotRun(f"{what} is not JSON") from exc


class Verifier:
    def __init__(self, state: State, workers: int) -> None:
        self.s = state
        self.workers = workers
        self.question_problems: list[str] = []
        # the ballot pass, when started early on worker processes (_start_ballots)
        self._pending: tuple[Processes, list[BallotOutcome], list[Any]] | None = None

    # -- helpers -------------------------------------------------------------------
    def need_archive(self) -> Archive:
        if self.s.archive is None:
            raise CannotRun("the archive is unreadable")
        return self.s.archive

    def of_type(self, typ: str) -> list[Event]:
        return [e for e in self.s.events if e.type == typ]

    def payload(self, ev: Event) -> bytes | None:
        return self.s.index.get(ev.payload) if ev.payload else None

    def need_ctx(self) -> Ctx:
        if self.s.ctx is None or self.s.election is None or self.question_problems:
            raise CannotRun("the election parameters are unusable (B04)")
        return self.s.ctx

    def need_trustees(self) -> list[TrusteeKind]:
        if self.s.trustees is None:
            raise CannotRun("the trustees are unreadable (B05)")
        return self.s.trustees

    def need_creds(self) -> dict[str, int]:
        if self.s.creds is None:
            raise CannotRun("the public credentials are unreadable (B08)")
        return self.s.creds

    # -- B01-B03: archive ----------------------------------------------------------
    def check_b01(self) -> list[str]:
        a = self.need_archive()
        problems = list(a.problems)
        problems += [f"record {r.name}: contents do not hash to the name" for r in a.records
                     if not r.hash_ok]  # fmt: skip
        problems += [f"event {e.record.hash[:16]}…: {e.problem}" for e in self.s.events
                     if e.problem]  # fmt: skip
        if not self.s.events:
            problems.append("no events")
        return problems

    def check_b02(self) -> list[str]:
        self.need_archive()
        problems = []
        prev: str | None = None
        # protocol order: Setup Ballot* EndBallots EncryptedTally (Shuffle* EndShuffles)?
        # PartialDecryption* Result, a prefix of it while the election runs
        stage = 0
        order = {"Setup": 0, "Ballot": 1, "EndBallots": 2, "EncryptedTally": 3,
                 "Shuffle": 4, "EndShuffles": 5, "PartialDecryption": 6, "Result": 7}  # fmt: skip
        follows = {0: {1, 2}, 1: {1, 2}, 2: {3}, 3: {4, 5, 6, 7}, 4: {4, 5}, 5: {6, 7},
                   6: {6, 7}, 7: set()}  # fmt: skip
        for height, ev in enumerate(self.s.events):
            if ev.problem:
                problems.append(f"event at position {height}: {ev.problem}")
                prev = ev.record.hash
                continue
            if ev.parent != prev:
                problems.append(f"event at height {height}: parent is not the previous event")
            if ev.height != height:
                problems.append(f"event at position {height} claims height {ev.height}")
            if ev.record.body != ev.canonical():
                problems.append(f"event at height {height}: not in canonical form")
            k = order[ev.type]
            if height == 0:
                if ev.type != "Setup":
                    problems.append("the first event is not Setup")
            elif k not in follows[stage]:
                problems.append(f"event at height {height}: {ev.type} out of protocol order")
            stage = k
            needs = ev.type not in ("EndBallots", "EndShuffles")
            if needs and ev.payload is None:
                problems.append(f"event at height {height} ({ev.type}): missing payload")
            elif not needs and ev.payload is not None:
                problems.append(f"event at height {height} ({ev.type}): extra payload")
            elif ev.payload is not None and ev.payload not in self.s.index:
                problems.append(f"event at height {height} ({ev.type}): payload not found")
            prev = sha256_hex(ev.record.body)
        return problems

    def check_b03(self) -> list[str]:
        a = self.need_archive()
        try:
            rebuilt = rebuild(a)
        except RebuildError as exc:
            return [f"cannot be rebuilt from its last event: {exc}"]
        if rebuilt == a.raw:
            return []
        n = next((i for i, (x, y) in enumerate(zip(rebuilt, a.raw, strict=False)) if x != y),
                 min(len(rebuilt), len(a.raw)))  # fmt: skip
        return [f"differs from its rebuild from the last event at byte {n} "
                f"({len(a.raw)} bytes, rebuild {len(rebuilt)})"]  # fmt: skip

    # -- B04-B08: setup ------------------------------------------------------------
    def check_b04(self) -> list[str]:
        s = self.s
        if s.election is None:
            raise CannotRun("; ".join(s.setup_problems) or "no election parameters")
        e, problems = s.election, []
        if e.get("version") != 1:
            problems.append(f"version {e.get('version')!r} is not 1")
        for k in ("description", "name"):
            if not isinstance(e.get(k), str):
                problems.append(f"{k} is not a string")
        uuid = e.get("uuid")
        b58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
        if not (isinstance(uuid, str) and len(uuid) >= 14 and all(ch in b58 for ch in uuid)):
            problems.append("uuid is not a Base58 string of 14 characters or more")
        if s.ctx is None:
            problems.append("public_key is not an element of the group")
        if not s.questions:
            problems.append("no questions")
        problems += self.question_problems
        return problems

    def check_b05(self) -> list[str]:
        self.need_ctx()
        if self.s.trustees is None:
            raise CannotRun("; ".join(self.s.setup_problems) or "trustees unreadable")
        return [p for p in self.s.trustee_problems if p.startswith("B05")]

    def check_b06(self) -> list[str] | None:
        trustees = self.need_trustees()
        if not any(t.kind == "Pedersen" for t in trustees):
            return None
        return [p for p in self.s.trustee_problems if p.startswith("B06")]

    def check_b07(self) -> list[str]:
        ctx, trustees = self.need_ctx(), self.need_trustees()
        if any(t.subkey is None for t in trustees):
            raise CannotRun("a trustee sub-key is unreadable (B05/B06)")
        combined = ctx.G.prod(t.subkey for t in trustees if t.subkey is not None)
        if combined != ctx.y:
            return ["the election public key is not the product of the trustees' sub-keys"]
        return []

    def check_b08(self) -> list[str]:
        ctx = self.need_ctx()
        assert self.s.setup is not None
        raw = _load_json(self.s.index.get(self.s.setup["credentials"]), "public credentials")
        if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
            raise CannotRun("public credentials are not a list of strings")
        creds: dict[str, int] = {}
        problems = []
        read: list[tuple[int, str, int, Element | str]] = []  # (k, text, weight, y or error)
        for k, line in enumerate(raw, 1):
            text, _, wtext = line.partition(",")
            weight = 1
            if _:
                if not wtext.isdigit():
                    read.append(
                        (k, text, 0, f"credential {k}: weight {wtext!r} is not a natural number")
                    )
                    continue
                weight = int(wtext)
            try:
                read.append((k, text, weight, ctx.elem(text, f"credential {k}", member=False)))
            except FormatError as exc:
                read.append((k, text, weight, str(exc)))
        members = iter(self._members([y for *_, y in read if isinstance(y, Element)]))
        for k, text, weight, y in read:
            if not isinstance(y, Element):
                problems.append(y)
                continue
            if not next(members):
                try:  # the exact message
                    ctx.elem(text, f"credential {k}")
                except FormatError as exc:
                    problems.append(str(exc))
                continue
            d = ctx.dec(y)
            if d in creds:
                problems.append(f"credential {k}: duplicate credential")
                continue
            creds[d] = weight
        self.s.creds = creds
        return problems

    def _members(self, elements: list[Element]) -> list[bool]:
        """Membership of each element (``x^q == 1``), on ``workers`` threads: gmpy2's
        ``powmod_base_list`` releases the GIL."""
        ctx = self.need_ctx()
        p, q = getattr(ctx.G, "p"), ctx.q  # noqa: B009 (a ModpGroup: Belenios groups are)
        values = [e.value for e in elements]
        parts = max(1, min(self.workers, len(values) // 64))
        size = -(-len(values) // parts) if values else 0
        chunks = [values[i : i + size] for i in range(0, len(values), size)] if size else []
        if len(chunks) <= 1:
            results = [list(gmpy2.powmod_base_list(ch, q, p)) for ch in chunks]
        else:
            with ThreadPoolExecutor(len(chunks)) as pool:
                results = list(pool.map(lambda ch: gmpy2.powmod_base_list(ch, q, p), chunks))
        return [r == 1 for chunk in results for r in chunk]

    # -- B09-B12: ballots ----------------------------------------------------------
    def _ballot_work(self) -> tuple[BallotContext, list[BallotOutcome], list[list[Any]]]:
        s = self.s
        ctx = self.need_ctx()
        assert ctx.y is not None
        bctx = BallotContext(ctx.description, int(ctx.dec(ctx.y)), s.uuid, s.fingerprint,
                             tuple(s.questions))  # fmt: skip
        items: list[tuple[int, bytes]] = []
        missing: list[BallotOutcome] = []
        for i, ev in enumerate(self.of_type("Ballot")):
            data = self.payload(ev)
            if data is None:
                missing.append(BallotOutcome(i, problems=[("wellformed", "ballot not found")]))
            else:
                items.append((i, data))
        return bctx, missing, [items[k : k + BATCH] for k in range(0, len(items), BATCH)]

    def _start_ballots(self) -> None:
        """Hand the ballot pass to the worker processes before the first check: it needs
        only the election, so it runs while this process reads the archive (B01-B03)
        and tests the credentials (B08), instead of after them."""
        if self.workers == 1:
            return
        try:
            bctx, missing, batches = self._ballot_work()
        except CannotRun:
            return  # B09 will say why
        if len(batches) <= 1:
            return
        # every worker is forked here, before B08 starts its threads
        runner = Processes(min(self.workers, len(batches)))
        handles = [runner.submit(check_ballot_batch, bctx, b) for b in batches]
        self._pending = (runner, missing, handles)

    def _stop_ballots(self) -> None:
        if self._pending is not None:
            runner, _, _ = self._pending
            runner.close()  # cancels the batches not started
            self._pending = None

    def _ballots(self) -> list[BallotOutcome]:
        s = self.s
        if s.outcomes is not None:
            return s.outcomes
        ctx = self.need_ctx()
        outcomes: list[BallotOutcome]
        if self._pending is not None:
            runner, missing, handles = self._pending
            outcomes = list(missing)
            for handle in handles:
                outcomes.extend(runner.result(handle))
            self._stop_ballots()
        else:
            bctx, missing, batches = self._ballot_work()
            outcomes = list(missing)
            for b in batches:
                outcomes.extend(check_ballot_batch(bctx, b))
        outcomes.sort(key=lambda o: o.index)
        # The workers leave each credential's membership to this process: a listed one
        # passed B08's test; any other is tested here, and one outside the group makes
        # its ballot ill-formed and nothing else, as when tested first thing.
        try:
            listed: dict[str, int] = self.need_creds()
        except CannotRun:
            listed = {}
        for k, o in enumerate(outcomes):
            if o.credential_unchecked and o.credential is not None and o.credential not in listed:
                try:
                    ctx.elem(o.credential, "credential")
                except FormatError as exc:
                    outcomes[k] = BallotOutcome(o.index, problems=[("wellformed", str(exc))])
        s.outcomes = outcomes
        return outcomes

    def _findings(self, kind: str) -> list[str] | None:
        if not self.of_type("Ballot"):
            return None
        return [f"ballot {o.index + 1}: {m}" for o in self._ballots() for k, m in o.problems
                if k == kind]  # fmt: skip

    def check_b09(self) -> list[str] | None:
        return self._findings("wellformed")

    def check_b10(self) -> list[str] | None:
        found = self._findings("signature")
        if found is None:
            return None
        creds = self.need_creds()
        for o in self._ballots():
            if o.credential is not None and o.credential not in creds:
                found.append(f"ballot {o.index + 1}: invalid credential (not in the list)")
        return sorted(found, key=lambda x: int(x.split(":")[0].split()[1]))

    def check_b11(self) -> list[str] | None:
        return self._findings("proofs")

    def check_b12(self) -> list[str] | None:
        if not self.of_type("Ballot"):
            self.s.counted = []
            return None
        creds = self.need_creds()
        last: dict[str, BallotOutcome] = {}
        for o in self._ballots():
            if o.credential is not None and o.choices is not None and o.credential in creds:
                last.pop(o.credential, None)  # a revote replaces (order: the last one)
                last[o.credential] = o
        self.s.counted = list(last.values())
        return []

    # -- B13-B16: tally, decryption, result ----------------------------------------
    def _tally(self) -> list[list[tuple[Element, Element]]]:
        s = self.s
        if s.tally is not None:
            return s.tally
        ctx = self.need_ctx()
        if s.counted is None:
            raise CannotRun("the counted ballots are unknown (B12)")
        if any(p for o in self._ballots() for p in o.problems if p[0] == "wellformed"):
            raise CannotRun("a ballot is unreadable (B09)")
        creds = self.need_creds()
        tally = [[(ctx.one, ctx.one) for _ in range(q.width)] for q in s.questions]
        for o in s.counted:
            assert o.choices is not None and o.credential is not None
            w = creds[o.credential]
            for qi, row in enumerate(o.choices):
                for j, (al, be) in enumerate(row):
                    a, b = ctx.known(al), ctx.known(be)  # checked by the ballot pass (B09)
                    if w != 1:
                        a, b = ctx.G.pow(a, w), ctx.G.pow(b, w)
                    ta, tb = tally[qi][j]
                    tally[qi][j] = (ta * a, tb * b)
        s.tally = tally
        return tally

    def check_b13(self) -> list[str] | None:
        evs = self.of_type("EncryptedTally")
        if not evs:
            return None
        ctx = self.need_ctx()
        tally = self._tally()
        creds = self.need_creds()
        assert self.s.counted is not None
        sized = _load_json(self.payload(evs[-1]), "the sized encrypted tally")
        problems = []
        if not isinstance(sized, dict):
            return ["the sized encrypted tally is not an object"]
        n = len(self.s.counted)
        total = sum(creds[o.credential] for o in self.s.counted if o.credential)
        if sized.get("num_tallied") != n:
            problems.append(f"num_tallied is {sized.get('num_tallied')!r}, recomputed {n}")
        tw = sized.get("total_weight")
        if not (tw == total or (isinstance(tw, str) and tw == str(total))):
            problems.append(f"total_weight is {tw!r}, recomputed {total}")
        h = sized.get("encrypted_tally")
        et = _load_json(self.s.index.get(h) if isinstance(h, str) else None,
                        "the encrypted tally")  # fmt: skip
        try:
            stored = _ciphertexts(ctx, et)
        except FormatError as exc:
            return [*problems, f"the stored encrypted tally is ill-formed: {exc}"]
        if [len(r) for r in stored] != [len(r) for r in tally]:
            return [*problems, "the stored encrypted tally does not have the questions' shape"]
        for qi, (sr, tr) in enumerate(zip(stored, tally, strict=True), 1):
            for j, (x, y) in enumerate(zip(sr, tr, strict=True), 1):
                if x != y:
                    problems.append(f"question {qi}, answer {j}: stored ciphertext differs "
                                    "from the product of the counted ballots")  # fmt: skip
        return problems

    def _owners(self) -> list[tuple[int, int]]:
        """(kind index, key index) for each trustee id 1..n."""
        out = []
        for ti, t in enumerate(self.need_trustees()):
            out += [(ti, k) for k in range(len(t.keys))]
        return out

    def check_b14(self) -> list[str] | None:
        evs = self.of_type("PartialDecryption")
        if not evs:
            self.s.pds = {}
            return None
        ctx = self.need_ctx()
        trustees = self.need_trustees()
        owners = self._owners()
        tally = self._tally()
        problems: list[str] = []
        pds: dict[int, list[list[Element]]] = {}
        for n, ev in enumerate(evs, 1):
            owned = _load_json(self.payload(ev), f"partial decryption {n}")
            if not isinstance(owned, dict) or not isinstance(owned.get("owner"), int):
                problems.append(f"partial decryption {n}: no owner")
                continue
            owner = owned["owner"]
            if not 1 <= owner <= len(owners):
                problems.append(f"partial decryption {n}: owner {owner} is not a trustee")
                continue
            h = owned.get("payload")
            pd = _load_json(self.s.index.get(h) if isinstance(h, str) else None,
                            f"partial decryption {n}")  # fmt: skip
            ti, ki = owners[owner - 1]
            key = trustees[ti].keys[ki]
            try:
                factors, proofs = _factors(ctx, pd, tally)
            except FormatError as exc:
                problems.append(f"partial decryption {n} (trustee {owner}): {exc}")
                continue
            bad = [
                f"question {qi + 1}, answer {j + 1}"
                for qi, row in enumerate(tally)
                for j, (al, _) in enumerate(row)
                if not ctx.factor(self.s.fingerprint, key, al, factors[qi][j], proofs[qi][j])
            ]
            if bad:
                problems.append(f"partial decryption {n} (trustee {owner}): invalid proof for "
                                + ", ".join(bad[:5]))  # fmt: skip
                continue
            pds[owner] = factors  # the last one of an owner counts, as in belenios-tool
        self.s.pds = pds
        return problems

    def _combined(self) -> list[list[Element]]:
        """The synthetic decryption factors (section 4.19), or CannotRun."""
        ctx = self.need_ctx()
        trustees = self.need_trustees()
        tally = self._tally()
        if self.s.pds is None:
            raise CannotRun("partial decryptions unreadable (B14)")
        q = ctx.q
        combined = [[ctx.one for _ in row] for row in tally]
        owner = 0
        missing = []
        for t in trustees:
            ids = list(range(owner + 1, owner + len(t.keys) + 1))
            owner += len(t.keys)
            have = [i for i in ids if i in self.s.pds]
            if t.kind == "Single":
                if not have:
                    missing.append(f"no valid partial decryption from trustee {ids[0]}")
                    continue
                chosen = [(1, have[0])]
                lag = {have[0]: 1}
            else:
                if len(have) < t.threshold:
                    missing.append(f"threshold trustees {ids[0]}-{ids[-1]}: {len(have)} valid "
                                   f"partial decryptions, {t.threshold} needed")  # fmt: skip
                    continue
                chosen = [(i - ids[0] + 1, i) for i in have[: t.threshold]]
                idx = [z for z, _ in chosen]
                lag = {}
                for z, i in chosen:
                    num, den = 1, 1
                    for k in idx:
                        if k != z:
                            num = num * k % q
                            den = den * (k - z) % q
                    lag[i] = num * pow(den, -1, q) % q
            for _, i in chosen:
                f = self.s.pds[i]
                for qi, row in enumerate(combined):
                    for j in range(len(row)):
                        row[j] = row[j] * ctx.G.pow(f[qi][j], lag[i])
        if missing:
            raise _Missing(missing)
        return combined

    def check_b15(self) -> list[str] | None:
        if not self.of_type("Result"):
            raise NotApplicable("no result yet")
        try:
            self._combined()
        except _Missing as exc:
            return exc.problems
        return []

    def check_b16(self) -> list[str] | None:
        evs = self.of_type("Result")
        if not evs:
            return None
        ctx = self.need_ctx()
        raw = _load_json(self.payload(evs[-1]), "the result")
        tally = self._tally()
        try:
            result = _result(raw, [len(r) for r in tally])
        except FormatError as exc:
            return [f"the result is ill-formed: {exc}"]
        self.s.result = result
        try:
            combined = self._combined()
        except _Missing as exc:
            raise CannotRun("partial decryptions do not reach a quorum (B15)") from exc
        problems = []
        for qi, row in enumerate(tally):
            for j, (_, beta) in enumerate(row):
                if beta / combined[qi][j] != ctx.gpow(result[qi][j]):
                    problems.append(f"question {qi + 1}, answer {j + 1}: the count "
                                    f"{result[qi][j]} is not the decrypted tally")  # fmt: skip
        return problems

    # -- running ---------------------------------------------------------------------
    def run(self) -> Report:
        self._start_ballots()
        try:
            return self._run()
        finally:
            self._stop_ballots()

    def _run(self) -> Report:
        out = []
        for spec in CHECKS:
            status, details = run_check(getattr(self, "check_" + spec.id.lower()))
            out.append(CheckResult(spec.id, spec.title, status, details[:50], spec.references))
        return Report(out, self._summary(), self._results())

    def _summary(self) -> dict[str, Any]:
        s = self.s
        types = [e.type for e in s.events]
        stage = ("decided" if "Result" in types else "tallying" if "EndBallots" in types
                 else "voting" if types else "setup")  # fmt: skip
        return {
            "format": "belenios",
            "archive": s.bel.name,
            "uuid": s.uuid or None,
            "entries": len(s.archive.records) if s.archive else 0,
            "events": len(s.events),
            "ballots": types.count("Ballot"),
            "counted": len(s.counted) if s.counted is not None else 0,
            "revotes": types.count("Ballot") - len(s.counted) if s.counted is not None else 0,
            "challenged": 0,
            "credentials": len(s.creds) if s.creds is not None else None,
            "group": s.ctx.description if s.ctx else None,
            "title": s.election.get("name") if s.election else None,
            "stage": stage,
        }

    def _results(self) -> dict[str, Any] | None:
        s = self.s
        if s.result is None:
            return None
        out: dict[str, Any] = {}
        for k, (q, row) in enumerate(zip(s.questions, s.result, strict=True), 1):
            counts: dict[str, int] = {}
            rest = row
            if q.blank:
                counts["blank"] = row[0]
                rest = row[1:]
            for j, v in enumerate(rest, 1):
                counts[f"a{j}"] = v
            out[f"q{k}"] = counts
        return {s.uuid: out}


class _Missing(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


# --- parsing the setup (election, trustees) -----------------------------------------


def _ciphertexts(ctx: Ctx, obj: Any) -> list[list[tuple[Element, Element]]]:
    if not isinstance(obj, list):
        raise FormatError("not a list of questions")
    out = []
    for row in obj:
        if not isinstance(row, list):
            raise FormatError("a question is not a list of ciphertexts")
        cts = []
        for c in row:
            if not isinstance(c, dict):
                raise FormatError("a ciphertext is not an object")
            cts.append((ctx.elem(c.get("alpha"), "alpha"), ctx.elem(c.get("beta"), "beta")))
        out.append(cts)
    return out


def _factors(
    ctx: Ctx, pd: Any, tally: list[list[tuple[Element, Element]]]
) -> tuple[list[list[Element]], list[list[tuple[int, int]]]]:
    if not isinstance(pd, dict):
        raise FormatError("not an object")
    fs, ps = pd.get("decryption_factors"), pd.get("decryption_proofs")
    shape = [len(r) for r in tally]
    if (not isinstance(fs, list) or not isinstance(ps, list)
            or [len(r) if isinstance(r, list) else -1 for r in fs] != shape
            or [len(r) if isinstance(r, list) else -1 for r in ps] != shape):  # fmt: skip
        raise FormatError("decryption factors and proofs do not have the tally's shape")
    factors = [[ctx.elem(x, "decryption factor") for x in r] for r in fs]
    proofs = [[ctx.proof(x, "decryption proof") for x in r] for r in ps]
    return factors, proofs


def _result(raw: Any, shape: list[int]) -> list[list[int]]:
    if not isinstance(raw, dict) or not isinstance(raw.get("result"), list):
        raise FormatError("not {result: [...]}")
    rows = raw["result"]
    if len(rows) != len(shape):
        raise FormatError(f"{len(rows)} questions, {len(shape)} expected")
    out = []
    for k, (row, n) in enumerate(zip(rows, shape, strict=True), 1):
        if not isinstance(row, list) or len(row) != n:
            raise FormatError(f"question {k}: not a list of {n} counts")
        vals = []
        for v in row:
            if isinstance(v, bool):
                raise FormatError(f"question {k}: a count is not a natural number")
            if isinstance(v, str) and v.isdigit():
                v = int(v)
            if not isinstance(v, int) or v < 0:
                raise FormatError(f"question {k}: a count is not a natural number")
            vals.append(v)
        out.append(vals)
    return out


def _load_setup(s: State, v: Verifier) -> None:
    """Find the election, trustees and credentials through the Setup event; raise
    RecordError for elections this verifier does not support."""
    setups = [e for e in s.events if e.type == "Setup"]
    if not setups:
        s.setup_problems.append("no Setup event")
        return
    try:
        setup = json.loads(s.index.get(setups[0].payload or "", b""))
        if not isinstance(setup, dict):
            raise ValueError
        s.setup = {k: setup[k] for k in ("election", "trustees", "credentials")}
        if not all(isinstance(x, str) for x in s.setup.values()):
            raise ValueError
    except (ValueError, KeyError, UnicodeDecodeError):
        s.setup = None
        s.setup_problems.append("the setup data are unreadable")
        return
    raw = s.index.get(s.setup["election"])
    if raw is None:
        s.setup_problems.append("the election parameters are missing")
        return
    try:
        e = json.loads(raw)
        if not isinstance(e, dict):
            raise ValueError
    except (ValueError, UnicodeDecodeError):
        s.setup_problems.append("the election parameters are not a JSON object")
        return
    s.election_raw, s.election = raw, e
    s.fingerprint = b64_sha256(raw)
    uuid = e.get("uuid")
    s.uuid = uuid if isinstance(uuid, str) else ""
    qs = e.get("questions")
    qproblems: list[str] = []
    if isinstance(qs, list):
        for k, q in enumerate(qs, 1):
            if isinstance(q, dict) and "type" in q:
                if q.get("type") == "NonHomomorphic":
                    raise RecordError(
                        f"{s.bel}: question {k} is non-homomorphic (mixnet): "
                        "unsupported for now (only homomorphic questions are verified)"
                    )
                qproblems.append(f"question {k}: unknown type {q.get('type')!r}")
                continue
            parsed = _question(q)
            if isinstance(parsed, str):
                qproblems.append(f"question {k}: {parsed}")
            else:
                s.questions.append(parsed)
    else:
        qproblems.append("questions is not a list")
    v.question_problems = qproblems
    group = e.get("group")
    if group not in GROUPS:
        raise RecordError(f"{s.bel}: group {group!r} is unsupported (supported: BELENIOS-2048)")
    try:
        y = number(e.get("public_key"), "public_key")
        s.ctx = Ctx(group, y)
    except (FormatError, GroupError):
        s.ctx = None
    _load_trustees(s)


def _question(q: Any) -> QuestionH | str:
    if not isinstance(q, dict):
        return "not an object"
    answers, mn, mx, blank = q.get("answers"), q.get("min"), q.get("max"), q.get("blank", False)
    if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
        return "answers is not a list of strings"
    if not isinstance(q.get("question"), str):
        return "question is not a string"
    if not isinstance(blank, bool):
        return "blank is not a boolean"
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in (mn, mx)):
        return "min and max are not integers"
    assert isinstance(mn, int) and isinstance(mx, int)
    if not 0 <= mn <= mx:
        return f"min {mn} and max {mx} do not satisfy 0 <= min <= max"
    return QuestionH(len(answers), mn, mx, blank)


def _load_trustees(s: State) -> None:
    ctx = s.ctx
    assert s.setup is not None
    if ctx is None:
        return
    try:
        raw = json.loads(s.index.get(s.setup["trustees"], b""))
    except (ValueError, UnicodeDecodeError):
        s.setup_problems.append("the trustees are not JSON")
        return
    if not isinstance(raw, list) or not raw:
        s.setup_problems.append("the trustees are not a non-empty list")
        return
    kinds: list[TrusteeKind] = []
    problems = s.trustee_problems

    def single(obj: Any, what: str) -> Element | None:
        try:
            if not isinstance(obj, dict):
                raise FormatError("not a trustee public key")
            y = ctx.elem(obj.get("public_key"), "public_key")
            pf = ctx.proof(obj.get("pok"), "pok")
        except FormatError as exc:
            problems.append(f"B05 {what}: {exc}")
            return None
        if not ctx.pok(y, pf):
            problems.append(f"B05 {what}: invalid proof of knowledge")
        return y

    owner = 0
    for k, item in enumerate(raw, 1):
        if not (isinstance(item, list) and len(item) == 2 and item[0] in ("Single", "Pedersen")):
            s.setup_problems.append(f"trustee item {k} is neither Single nor Pedersen")
            s.trustees = None
            return
        if item[0] == "Single":
            owner += 1
            y = single(item[1], f"trustee {owner} (Single)")
            if y is None:
                s.trustees = None
                return
            kinds.append(TrusteeKind("Single", [y], 1, y))
            continue
        t = item[1]
        if not isinstance(t, dict) or not all(
            isinstance(t.get(f), list) for f in ("certs", "coefexps", "verification_keys")
        ):
            s.setup_problems.append(f"trustee item {k} (Pedersen) is ill-formed")
            s.trustees = None
            return
        vks = []
        for z, vk in enumerate(t["verification_keys"], 1):
            y = single(vk, f"trustee {owner + z} (threshold, verification key)")
            if y is None:
                s.trustees = None
                return
            vks.append(y)
        base = owner
        owner += len(vks)
        subkey, tproblems = _pedersen(ctx, t, vks, f"trustees {base + 1}-{owner}")
        problems += [f"B06 {p}" for p in tproblems]
        thr = t.get("threshold")
        kinds.append(TrusteeKind("Pedersen", vks, thr if isinstance(thr, int) else 0, subkey))
    s.trustees = kinds


def _pedersen(
    ctx: Ctx, t: dict[str, Any], vks: list[Element], what: str
) -> tuple[Element | None, list[str]]:
    """check_pedersen (sections 4.6.2-4.6.7), with membership checks added."""
    problems: list[str] = []
    certs, coefs = t["certs"], t["coefexps"]
    n = len(vks)
    if not (len(certs) == len(coefs) == n) or n == 0:
        return None, [f"{what}: {len(certs)} certificates, {len(coefs)} coefficient "
                      f"commitments, {n} verification keys"]  # fmt: skip
    cert_vks: list[Element] = []
    try:
        for z, cert in enumerate(certs, 1):
            msg, pf = _signed(ctx, cert, f"certificate {z}")
            keys = json.loads(msg)
            if not isinstance(keys, dict):
                raise FormatError(f"certificate {z}: not cert_keys")
            vk = ctx.elem(keys.get("verification"), f"certificate {z} verification key")
            ctx.elem(keys.get("encryption"), f"certificate {z} encryption key")
            if not ctx.signed_msg(vk, msg, pf):
                problems.append(f"{what}: certificate {z} is not signed by its key")
            cert_vks.append(vk)
        coefexps: list[list[Element]] = []
        for z, (signed, vk) in enumerate(zip(coefs, cert_vks, strict=True), 1):
            msg, pf = _signed(ctx, signed, f"coefexps {z}")
            if not ctx.signed_msg(vk, msg, pf):
                problems.append(f"{what}: coefficients {z} are not signed by certificate {z}")
            obj = json.loads(msg)
            raw = obj.get("coefexps") if isinstance(obj, dict) else None
            if not isinstance(raw, list) or not raw:
                raise FormatError(f"coefexps {z}: not a non-empty list")
            coefexps.append([ctx.elem(x, f"coefexps {z}") for x in raw])
    except (FormatError, ValueError) as exc:
        return None, [*problems, f"{what}: {exc}"]
    t_count = len(coefexps[0])
    if any(len(c) != t_count for c in coefexps):
        return None, [*problems, f"{what}: coefficient lists of different lengths"]
    if t.get("threshold") != t_count:
        problems.append(f"{what}: threshold {t.get('threshold')!r} is not the number of "
                        f"coefficients ({t_count})")  # fmt: skip
    for j in range(1, n + 1):
        computed = ctx.one
        for c in coefexps:
            for k, a in enumerate(c):
                computed = computed * ctx.G.pow(a, j**k)
        if computed != vks[j - 1]:
            problems.append(f"{what}: verification key {j} does not match the coefficients")
    subkey = ctx.G.prod(c[0] for c in coefexps)
    return subkey, problems


def _signed(ctx: Ctx, obj: Any, what: str) -> tuple[str, tuple[int, int]]:
    if not isinstance(obj, dict) or not isinstance(obj.get("message"), str):
        raise FormatError(f"{what}: not a signed message")
    return obj["message"], ctx.proof(obj.get("signature"), f"{what} signature")


# --- entry point --------------------------------------------------------------------


def find_archive(path: Path) -> Path:
    path = Path(path)
    if path.is_file() and path.suffix == ".bel":
        return path
    if not path.is_dir():
        raise RecordError(f"{path}: not a directory")
    bels = sorted(path.glob("*.bel"))
    if not bels:
        raise RecordError(f"{path}: no .bel archive (is this a Belenios election directory?)")
    if len(bels) > 1:
        raise RecordError(f"{path}: several .bel archives ({', '.join(b.name for b in bels)})")
    return bels[0]


def verify_foreign(path: Path, workers: int | None = None) -> Report:
    """Verify the Belenios 2.0 election archive in ``path`` (the directory holding the
    ``.bel`` file); :class:`RecordError` for unusable or unsupported input."""
    bel = find_archive(path)
    try:
        raw = bel.read_bytes()
    except OSError as exc:
        raise RecordError(f"{bel}: cannot read ({exc.strerror})") from exc
    try:
        archive = read_archive(raw)
    except ArchiveError as exc:
        raise RecordError(f"{bel}: not a Belenios archive ({exc})") from exc
    s = State(Path(path), bel, archive)
    s.events = archive.events()
    s.index = archive.index()
    v = Verifier(s, workers or os.cpu_count() or 1)
    _load_setup(s, v)
    return v.run()
