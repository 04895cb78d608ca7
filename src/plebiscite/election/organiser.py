"""The organiser: runs the board, opens and closes, posts the tally and the result.

The organiser appends what others sign (guardians, the credential authority, voters)
and signs only its own entries. Its data directory holds the board (SQLite) and the
board's signing key; nothing else.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from plebiscite.board.checkpoint import Checkpoint
from plebiscite.board.log import Board
from plebiscite.board.merkle import leaf_hash
from plebiscite.board.store import Store, open_store
from plebiscite.crypto import threshold
from plebiscite.crypto.group import Element, Group, get_group
from plebiscite.election.clock import Clock
from plebiscite.election.keys import (
    NO_REASON,
    Passphrase,
    key_from_seed,
    read_secret_json,
    seed_of,
    write_secret_json,
)
from plebiscite.election.tally import (
    TallyError,
    TallyResult,
    check_posted_tally,
    combine_shares,
    tally_ballots,
    tally_to_json,
)
from plebiscite.record import codec
from plebiscite.record.canonical import canonical_bytes, json_equal, loads
from plebiscite.record.entries import (
    Entry,
    EntrySequence,
    Submission,
    election_id_of,
    format_time,
    key_to_b64,
    parse_entry,
    sign,
)
from plebiscite.record.manifest import (
    Manifest,
    enrolment_problem,
    guardian_ids,
    jurisdiction_problems,
    observers,
    parse_manifest,
    pinned_keys,
)
from plebiscite.record.protocol import RevoteChains, context_hash
from plebiscite.record.vocab import RECORD_FORMAT
from plebiscite.verify.ballots import BallotContext
from plebiscite.verify.reader import RawRecord

BOARD_DB = "board.sqlite"
BOARD_KEY = "board-key.json"
COSIGNATURES = "cosignatures.jsonl"


_BALLOT_TAIL: Final = b'"type":"ballot"}'  # how a ballot's canonical line ends


class BoardEntries(EntrySequence):
    """An organiser's entries, ballots read from its store when asked for (the other
    entries are kept in memory): iterating streams the board once."""

    def __init__(self, org: Organiser) -> None:
        self._org = org

    def __len__(self) -> int:
        return self._org.size

    def _entry(self, index: int) -> Entry:
        return self._org.entry(index)

    def __iter__(self) -> Iterator[Entry]:
        return self._org.iter_entries()


class OrganiserError(RuntimeError):
    """A step is not possible in the board's current state."""


class Organiser:
    def __init__(
        self,
        data_dir: Path,
        clock: Clock | None = None,
        passphrase: Passphrase | None = None,
        *,
        allow_plaintext: bool = False,
    ) -> None:
        """Open the board in ``data_dir``; a sealed board key needs ``passphrase``
        (raises ``keys.SecretFileError`` without it, or with the wrong one), and an
        unencrypted one is refused unless ``allow_plaintext``."""
        self.data_dir = Path(data_dir)
        keyfile = self.data_dir / BOARD_KEY
        if not keyfile.exists():
            raise OrganiserError(f"{self.data_dir} holds no referendum (no {BOARD_KEY})")
        meta = read_secret_json(keyfile, passphrase, allow_plaintext=allow_plaintext)
        self.key: Ed25519PrivateKey = key_from_seed(meta["signing_key"])
        self.origin: str = meta["origin"]
        self.clock = clock or Clock()
        self._cosigned: set[tuple[str, str, int, bytes, str]] | None = None
        self.database: str | None = meta.get("database")
        self.board = Board(_store(self.data_dir, self.database, self.origin), self.key, self.origin)
        # Ballots are most of a national board: their entries stay in the store (read
        # back on demand); memory keeps only what the checks need to find them.
        self._entries: list[Entry | None] = []
        self._by_type: dict[str, list[int]] = {}
        self._creds: dict[str, set[str]] = {}
        self._codes: dict[str, int] = {}
        self._last: dict[str, int] = {}
        self._chains = RevoteChains()  # each credential's head (tracking code)
        # in the order of _by_type["ballot"]; None for a ballot that does not extend its
        # credential's chain (only a board whose store was altered holds one)
        self._ballot_credentials: list[str | None] = []
        self._ballot_context: BallotContext | None = None
        for raw in self.board.entries():
            if raw.endswith(_BALLOT_TAIL):
                # the board's own ballots, checked when they were appended: only three
                # fields are needed, and plain JSON reads them 7x faster than the strict
                # parser (a minute saved at start-up per million ballots)
                d = json.loads(raw)
                self._remember_ballot("ballot", d["data"])
            else:
                self._remember(parse_entry(raw))
        first = self._entries[0] if self._entries else None
        if first is None or first.type != "referendum":
            raise OrganiserError("the board does not start with a referendum entry")
        ref = first.data
        self.manifest: Manifest = parse_manifest(ref["manifest"])
        self.election_id = election_id_of(ref)
        self.group: Group = get_group(self.manifest.group)

    @classmethod
    def init(
        cls,
        data_dir: Path,
        manifest_raw: dict[str, Any],
        clock: Clock | None = None,
        database: str | None = None,
        passphrase: Passphrase | None = None,
        plaintext: str = NO_REASON,
        demo: bool = False,
    ) -> Organiser:
        """Create the board; ``database`` (a ``postgresql://`` URL) keeps it in PostgreSQL
        instead of ``board.sqlite`` in the data folder (the key stays in the folder). The
        board key is sealed under ``passphrase``; without one it is written unencrypted,
        saying why (``plaintext``: the demos). ``demo`` marks a referendum whose roles one
        process plays: its keys need not be pinned, and its referendum entry says so."""
        manifest = parse_manifest(manifest_raw)
        problems = jurisdiction_problems(manifest)
        if problems:
            raise OrganiserError(
                "the guardians break the jurisdiction rules: " + "; ".join(problems)
            )
        unenrolled = enrolment_problem(manifest, demo)
        if unenrolled:
            raise OrganiserError(unenrolled)
        data_dir = Path(data_dir)
        if (data_dir / BOARD_KEY).exists():
            raise OrganiserError(f"{data_dir} already holds a referendum")
        key = Ed25519PrivateKey.generate()
        if key_to_b64(key) in pinned_keys(manifest):  # pragma: no cover - 2^-252
            raise OrganiserError("the board key equals a party's key: run init again")
        origin = f"plebiscite/{uuid.uuid4()}"
        write_secret_json(
            data_dir / BOARD_KEY,
            {
                "kind": "plebiscite board signing key",
                "signing_key": seed_of(key),
                "origin": origin,
                "database": database,
            },
            passphrase,
            plaintext=plaintext,
        )
        clock = clock or Clock()
        board = Board(_store(data_dir, database, origin), key, origin)
        data = {
            "manifest": manifest.raw,
            "board_key": key_to_b64(key),
            "origin": origin,
            "record_format": RECORD_FORMAT,
            "demo": demo,
        }
        entry = sign("referendum", data, "", key).at(format_time(clock.now()))
        board.append(entry.to_bytes())
        board.checkpoint(format_time(clock.now()))
        board.store.close()
        # without a passphrase the key was just written unencrypted, as asked
        return cls(data_dir, clock, passphrase, allow_plaintext=passphrase is None)

    # -- reading ----------------------------------------------------------------------

    def _remember(self, entry: Entry) -> None:
        if entry.type in ("ballot", "challenged_ballot"):
            self._remember_ballot(entry.type, entry.data)
            return
        self._by_type.setdefault(entry.type, []).append(len(self._entries))
        self._entries.append(entry)
        if entry.type == "credential_list":
            self._creds[str(entry.data["region"])] = set(entry.data["credentials"])

    def _remember_ballot(self, type_: str, data: dict[str, Any]) -> None:
        """A ballot stays in the store: memory keeps its tracking code and credential."""
        index = len(self._entries)
        self._by_type.setdefault(type_, []).append(index)
        self._entries.append(None)
        code = str(data["tracking_code"])
        self._codes[code] = index
        if type_ == "ballot":
            credential = sys.intern(str(data["credential"]))
            if self._chains.extend(credential, data.get("replaces"), code):
                self._last[credential] = index
                self._ballot_credentials.append(credential)
            else:
                self._ballot_credentials.append(None)

    def credentials(self, region: object) -> set[str]:
        return self._creds.get(region, set()) if isinstance(region, str) else set()

    def tracking_codes(self) -> dict[str, int]:
        """Tracking code -> index of the (challenged) ballot that carries it."""
        return self._codes

    def entries(self) -> list[Entry]:
        """Every entry (ballots read back from the store): for small boards and tests;
        use ``iter_entries`` or ``board_view`` on a large one."""
        return list(self.iter_entries())

    def board_view(self) -> BoardEntries:
        """Every entry as a sequence that reads ballots from the store on demand: what a
        guardian's decrypt step needs on a board of millions of ballots."""
        return BoardEntries(self)

    def raw_record(self) -> RawRecord:
        """The board as a record (lines read from the store when iterated), for the
        checked view of a role played in this process (the demos)."""
        board = self.board

        class Lines:
            def __iter__(self) -> Iterator[bytes]:
                return board.entries()

            def __len__(self) -> int:
                return board.size

        cps = [canonical_bytes(cp.to_json()) for cp in board.checkpoints()]
        return RawRecord(self.data_dir, Lines(), cps, self.cosignatures())  # type: ignore[arg-type]

    def iter_entries(self) -> Iterator[Entry]:
        """Every entry in log order, streamed from the store where not kept in memory."""
        for i, raw in enumerate(self.board.entries(0, len(self._entries))):
            kept = self._entries[i]
            yield kept if kept is not None else parse_entry(raw)

    def last_ballot(self, credential: str) -> int | None:
        """Index of the credential's last ballot on the board (the one that counts)."""
        return self._last.get(credential)

    def head(self, credential: str) -> tuple[str | None, int | None]:
        """The credential's head: the tracking code and index of the last ballot of its
        revote chain on the board, (None, None) before its first ballot. A new ballot of
        the credential must replace exactly this tracking code."""
        code = self._chains.head(credential)
        return (code, self._codes[code]) if code is not None else (None, None)

    def entry(self, index: int) -> Entry:
        kept = self._entries[index]
        return kept if kept is not None else parse_entry(self.board.entry(index))

    @property
    def size(self) -> int:
        return len(self._entries)

    def ballot_context(self) -> BallotContext:
        """What checking a ballot needs (built once: the context never changes once
        posted; raises ``OrganiserError`` before the key ceremony ends)."""
        if self._ballot_context is None:
            ctx, jk = self.context()
            self._ballot_context = BallotContext(
                self.group.name, self.manifest.raw, ctx.hex(), jk.hex()
            )
        return self._ballot_context

    def same_ballot(self, sub: Submission) -> int | None:
        """The index of a ballot on the board identical to ``sub`` (same data, signer and
        signature): a retry of a ballot already accepted, answered with its receipt."""
        code = sub.data.get("tracking_code") if isinstance(sub.data, dict) else None
        index = self._codes.get(code) if isinstance(code, str) else None
        if index is None:
            return None
        e = self.entry(index)
        same = json_equal(
            [e.type, e.data, e.signer, e.signature], [sub.type, sub.data, sub.signer, sub.signature]
        )
        return index if same else None

    def of_type(self, type_: str) -> Iterator[tuple[int, Entry]]:
        return ((i, self.entry(i)) for i in self._by_type.get(type_, []))

    def counts(self) -> dict[str, int]:
        """How many entries of each type, in the order the types first appeared."""
        return {t: len(ix) for t, ix in self._by_type.items()}

    def count(self, type_: str) -> int:
        return len(self._by_type.get(type_, []))

    def has(self, type_: str) -> bool:
        return type_ in self._by_type

    def now(self) -> str:
        return format_time(self.clock.now())

    # -- writing ----------------------------------------------------------------------

    def append(self, sub: Submission, checkpoint: bool = True) -> int:
        return self._append([sub], checkpoint)[0][0]

    def append_many(self, subs: list[Submission]) -> list[int]:
        return [i for i, _ in self._append(subs, True)]

    def _append(self, subs: list[Submission], checkpoint: bool) -> list[tuple[int, Entry]]:
        now = self.now()
        entries = [s.at(now) for s in subs]
        idx = self.board.append_many([e.to_bytes() for e in entries])
        for e in entries:
            self._remember(e)
        if checkpoint:
            self.board.checkpoint(self.now())
        return list(zip(idx, entries, strict=True))

    def append_batch(self, subs: list[Submission]) -> list[dict[str, Any]]:
        """Append checked submissions in one durable transaction, sign one checkpoint
        for the batch, and return each one's receipt under it (group commit)."""
        if not subs:
            return []
        return [self.receipt(i, e) for i, e in self._append(subs, True)]

    def accept(self, sub: Submission) -> dict[str, Any]:
        """Check a submission from a guardian, the credential authority or a voter,
        append it durably, checkpoint, and return a receipt (raises ``Rejected``)."""
        from plebiscite.election.intake import check_submission

        check_submission(self, sub)
        [(index, entry)] = self._append([sub], True)
        return self.receipt(index, entry)

    def receipt(self, index: int, entry: Entry | None = None) -> dict[str, Any]:
        """Proof that entry ``index`` is on the board: the latest checkpoint and the
        entry's inclusion proof under it."""
        cp = self.board.latest_checkpoint()
        if cp is None or cp.size <= index:
            cp = self.checkpoint()
        entry = entry or self.entry(index)
        return {
            "election_id": self.election_id,
            "type": entry.type,
            "tracking_code": entry.data.get("tracking_code"),
            "index": index,
            "entry_hash": leaf_hash(entry.to_bytes()).hex(),
            "checkpoint": cp.to_json(),
            "inclusion_proof": [h.hex() for h in self.board.inclusion_proof(index, cp.size)],
        }

    def post(self, type_: str, data: dict[str, Any]) -> int:
        return self.append(sign(type_, data, self.election_id, self.key))

    def checkpoint(self) -> Checkpoint:
        return self.board.checkpoint(self.now())

    # -- steps ------------------------------------------------------------------------

    def guardian_key_entries(self) -> list[dict[str, Any]]:
        return [e.data for _, e in self.of_type("guardian_key")]

    def guardian_share_entries(self) -> list[dict[str, Any]]:
        return [e.data for _, e in self.of_type("guardian_shares")]

    def post_context(self) -> dict[str, Any]:
        """After every guardian is ready: the joint key and the context hash."""
        if self.has("election_context"):
            raise OrganiserError("the election context is already posted")
        ids = guardian_ids(self.manifest)
        keys = sorted(self.guardian_key_entries(), key=lambda d: ids.index(d["guardian"]))
        if [d["guardian"] for d in keys] != ids:
            raise OrganiserError("not every guardian has posted its key")
        ready = {e.data["guardian"] for _, e in self.of_type("guardian_ready")}
        if ready != set(ids):
            raise OrganiserError(f"guardians not ready yet: {sorted(set(ids) - ready)}")
        g = self.group
        commitments = [[codec.element(g, c) for c in d["commitments"]] for d in keys]
        jk = threshold.joint_key(g, commitments)
        ctx = context_hash(g, self.election_id, self.manifest.quorum, commitments, jk)
        data = {"joint_key": jk.hex(), "context_hash": ctx.hex()}
        self.post("election_context", data)
        return data

    def context(self) -> tuple[bytes, Element]:
        for _, e in self.of_type("election_context"):
            return bytes.fromhex(e.data["context_hash"]), codec.element(
                self.group, e.data["joint_key"]
            )
        raise OrganiserError("the key ceremony is not finished (no election context)")

    def post_roll(self, counts: dict[str, int]) -> int:
        """Publish how many voters were added to the roll, per region (the sign-in codes
        themselves stay with the organiser)."""
        if self.has("close"):
            raise OrganiserError("voting is closed: the roll can no longer change")
        bad = [r for r, n in counts.items() if r not in self.manifest.regions or n < 1]
        if bad or not counts:
            raise OrganiserError(f"voter roll: unknown regions or empty counts {bad}")
        return self.post("voter_roll", {"regions": dict(counts)})

    def accredit(self, observer: dict[str, str]) -> int:
        """Accredit an observer after set-up (the referendum file, which is hashed into
        the election id, cannot change): a board entry the organiser signs."""
        from plebiscite.record.manifest import ManifestError, parse_observer

        try:
            obs = parse_observer(observer, "observer")
        except ManifestError as exc:
            raise OrganiserError(str(exc)) from exc
        if obs["id"] in self.observers():
            raise OrganiserError(f"observer {obs['id']!r} is already declared or accredited")
        return self.post("observer_accreditation", {"observer": obs})

    def observers(self) -> dict[str, dict[str, str]]:
        """Declared and accredited observers, by id."""
        out = observers(self.manifest)
        for _, e in self.of_type("observer_accreditation"):
            out[e.data["observer"]["id"]] = dict(e.data["observer"])
        return out

    def open(self, booth: dict[str, str] | None = None) -> int:
        """Open voting; ``booth`` maps each booth file the server serves to its SHA-256,
        so the board commits to the code voters run."""
        if not self.has("election_context"):
            raise OrganiserError("cannot open: the key ceremony is not finished")
        regions = {e.data["region"] for _, e in self.of_type("credential_list")}
        missing = set(self.manifest.regions) - regions
        if missing:
            raise OrganiserError(f"cannot open: no credential list for {sorted(missing)}")
        if self.has("open"):
            raise OrganiserError("the referendum is already open")
        return self.post("open", {"booth": dict(booth)} if booth else {})

    def close(self) -> int:
        if not self.has("open"):
            raise OrganiserError("cannot close: the referendum was never opened")
        if self.has("close"):
            raise OrganiserError("the referendum is already closed")
        ballots = self.count("ballot")
        return self.post("close", {"ballots": ballots, "size": self.board.size})

    def tally(self) -> int:
        if self.has("tally"):
            raise OrganiserError("the tally is already posted")
        tr = self.tally_result()
        return self.post("tally", tally_to_json(tr))

    def posted_tally(self) -> tuple[int, dict[str, Any]]:
        for i, e in self.of_type("tally"):
            return i, e.data
        raise OrganiserError("no tally on the board yet")

    def result(self) -> dict[str, Any]:
        """Combine a quorum of decryption shares into the result and post it."""
        if self.has("result"):
            raise OrganiserError("the result is already posted")
        tally_index, posted = self.posted_tally()
        tr = self.tally_result()
        check_posted_tally(tr, posted)
        # A guardian's index is its place in the referendum file (the intake checked
        # each key entry says so).
        ids = guardian_ids(self.manifest)
        index_of = {gid: ids.index(gid) + 1 for gid in ids}
        shares = {
            index_of[e.data["guardian"]]: e.data["shares"]
            for _, e in self.of_type("decryption_share")
            if json_equal(e.data["tally_index"], tally_index)
        }
        if len(shares) < self.manifest.quorum:
            raise OrganiserError(
                f"{len(shares)} decryption shares, the quorum is {self.manifest.quorum}"
            )
        chosen = dict(sorted(shares.items())[: self.manifest.quorum])
        counts = combine_shares(self.group, tr, chosen)
        by_index = {v: k for k, v in index_of.items()}
        data = {
            "tally_index": tally_index,
            "guardians": [by_index[i] for i in sorted(chosen)],
            "counts": counts,
        }
        self.post("result", data)
        return data

    def tally_result(self) -> TallyResult:
        """The encrypted tally: the last ballot of each credential between open and
        close, streamed from the store (only the counted ballots are decoded)."""
        if not self.has("close"):
            raise TallyError("the referendum is not closed yet: no close entry on the board")
        close_index = self._by_type["close"][0]
        open_index = self._by_type.get("open", [close_index])[0]
        last: dict[str, int] = {}
        for i, credential in zip(
            self._by_type.get("ballot", []), self._ballot_credentials, strict=True
        ):
            if credential is not None and open_index < i < close_index:
                last[credential] = i
        counted = set(last.values())

        def ballots() -> Iterator[dict[str, Any]]:
            for i, raw in enumerate(self.board.entries(0, close_index)):
                if i in counted:
                    yield parse_entry(raw).data

        return tally_ballots(self.group, self.manifest, close_index, ballots())

    # -- publication ------------------------------------------------------------------

    def cosignatures(self) -> list[bytes]:
        path = self.data_dir / COSIGNATURES
        return [x for x in path.read_bytes().split(b"\n") if x] if path.exists() else []

    def add_cosignature(self, data: Any) -> bool:
        """Keep a witness's cosignature beside the board (outside the Merkle log);
        returns False when this witness's cosignature of that checkpoint was already
        kept. Raises ``OrganiserError`` when it is not a valid cosignature, by a witness
        of this referendum, of one of its checkpoints."""
        import os

        from plebiscite.board.cosign import Cosignature, verify_cosignature

        try:
            cs = Cosignature.from_json(data)
        except ValueError as exc:
            raise OrganiserError(str(exc)) from exc
        witness = self.observers().get(cs.witness)
        if witness is None or witness["public_key"] != cs.key:
            raise OrganiserError(f"{cs.witness!r} is not a witness of this referendum")
        if not verify_cosignature(cs):
            raise OrganiserError("the cosignature's signature is invalid")
        if not any(cs.about(cp) for cp in self.board.checkpoints()):
            raise OrganiserError("the cosignature is about no checkpoint of this board")
        # One cosignature per witness and checkpoint: a second (another witness time) adds
        # nothing, and a witness could otherwise fill the file with them.
        c = cs.checkpoint
        about = (cs.witness, c.origin, c.size, c.root, c.time)
        if self._cosigned is None:
            self._cosigned = set()
            for kept in self.cosignatures():
                k = Cosignature.from_json(loads(kept))
                kc = k.checkpoint
                self._cosigned.add((k.witness, kc.origin, kc.size, kc.root, kc.time))
        if about in self._cosigned:
            return False
        line = canonical_bytes(cs.to_json())
        with (self.data_dir / COSIGNATURES).open("ab") as f:
            f.write(line + b"\n")
            f.flush()
            os.fsync(f.fileno())
        self._cosigned.add(about)
        return True

    def publish(self, out: Path) -> None:
        """Write the record; a fresh checkpoint only if entries came since the last one
        (so witnesses' cosignatures of the latest checkpoint stay current)."""
        latest = self.board.latest_checkpoint()
        if latest is None or latest.size != self.board.size:
            self.checkpoint()
        write_record(self.board, out, self.cosignatures())

    def close_store(self) -> None:
        self.board.store.close()


def _store(data_dir: Path, database: str | None, origin: str) -> Store:
    """The board's store: SQLite in the data folder, or a schema of its own (named after
    the board's origin) in the PostgreSQL database."""
    namespace = "board_" + origin.rsplit("/", 1)[-1].replace("-", "")
    return open_store(database if database else data_dir / BOARD_DB, namespace)


def write_record(board: Board, out: Path, cosignatures: list[bytes] | None = None) -> None:
    """The published record: the entries in log order, the signed checkpoints and the
    witnesses' cosignatures."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "entries.jsonl.tmp"
    with tmp.open("wb") as f:
        for raw in board.entries():
            f.write(raw + b"\n")
    tmp.replace(out / "entries.jsonl")
    tmp = out / "checkpoints.jsonl.tmp"
    with tmp.open("wb") as f:
        for cp in board.checkpoints():
            f.write(canonical_bytes(cp.to_json()) + b"\n")
    tmp.replace(out / "checkpoints.jsonl")
    tmp = out / "cosignatures.jsonl.tmp"
    tmp.write_bytes(b"".join(x + b"\n" for x in cosignatures or []))
    tmp.replace(out / "cosignatures.jsonl")
