"""What the board accepts: the organiser's checks on every signed submission.

The board appends nothing it would later have to disown: each submission must be
signed by the party that vouches for it, arrive in its phase, and (for ballots,
challenged ballots and decryption shares) carry valid proofs. These checks protect the
board; the independent verifier re-checks everything from the record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from plebiscite.crypto.group import GroupError
from plebiscite.record import codec
from plebiscite.record.canonical import json_equal
from plebiscite.record.entries import (
    ENTRY_TYPES,
    EntryError,
    Submission,
    key_to_b64,
    verify_entry_signature,
)
from plebiscite.record.manifest import guardian_ids, pinned_authority_key, pinned_guardian_key
from plebiscite.record.vocab import (
    decryption_share_problems,
    guardian_key_problems,
    guardian_ready_problems,
    parse_credential_list,
    parse_decryption_share,
    parse_guardian_key,
    parse_guardian_ready,
    parse_guardian_shares,
    parse_tally,
)
from plebiscite.verify.ballots import BallotContext, check_ballot, check_challenged

if TYPE_CHECKING:
    from plebiscite.election.organiser import Organiser


class Rejected(ValueError):
    """The board refuses a submission; the message says why, in one line."""


class Stale(Rejected):
    """A ballot whose ``replaces`` is not its credential's head (the voter's booth read
    the head before another ballot of the credential reached the board): build it again
    on ``head``, ``{"tracking_code": ..., "index": ...}`` (both None before any ballot)."""

    def __init__(self, head: dict[str, Any]) -> None:
        self.head = head
        super().__init__(
            "ballot: stale: it does not replace its credential's latest ballot "
            f"({head['tracking_code'] or 'none yet'}); build it again on that one"
        )


class PendingBallots:
    """The ballots a batch accepted under the lock but has not appended yet: their
    tracking codes, and the heads they make (with the index each will get)."""

    def __init__(self, first_index: int) -> None:
        self.codes: set[str] = set()
        self.heads: dict[str, tuple[str, int]] = {}
        self.next_index = first_index

    def add(self, data: dict[str, Any]) -> None:
        code = str(data["tracking_code"])
        self.codes.add(code)
        self.heads[str(data["credential"])] = (code, self.next_index)
        self.next_index += 1


def _guardian_key_of(org: Organiser, gid: str) -> str | None:
    pinned = pinned_guardian_key(org.manifest, gid)
    if pinned:
        return pinned
    for _, e in org.of_type("guardian_key"):
        if e.data.get("guardian") == gid:
            return e.signer
    return None


def check_submission(org: Organiser, sub: Submission) -> None:
    if sub.type not in ENTRY_TYPES or ENTRY_TYPES[sub.type] == "organiser":
        raise Rejected(f"the board does not accept {sub.type!r} entries from outside")
    if not isinstance(sub.data, dict):
        raise Rejected("entry data must be an object")
    if sub.type != "challenged_ballot" and not verify_entry_signature(sub.at(""), org.election_id):
        raise Rejected(f"{sub.type}: missing or invalid signature")
    try:
        {
            "guardian_key": _guardian_key,
            "guardian_shares": _guardian_shares,
            "guardian_ready": _guardian_ready,
            "credential_list": _credential_list,
            "ballot": _ballot,
            "challenged_ballot": _challenged,
            "decryption_share": _decryption_share,
            "dispute": _dispute,
        }[sub.type](org, sub)
    except (EntryError, GroupError, KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, Rejected):
            raise
        raise Rejected(f"{sub.type}: malformed ({exc})") from exc


def _ceremony_guardian(org: Organiser, sub: Submission, phase: str, before: str) -> str:
    gid = sub.data.get("guardian")
    if not isinstance(gid, str) or gid not in guardian_ids(org.manifest):
        raise Rejected(f"{sub.type}: unknown guardian {gid!r}")
    if org.has(before):
        raise Rejected(f"{sub.type}: too late, the ceremony is over")
    if any(e.data.get("guardian") == gid for _, e in org.of_type(phase)):
        raise Rejected(f"{sub.type}: guardian {gid} already posted this step")
    expected = _guardian_key_of(org, gid)
    if expected is not None and sub.signer != expected:
        raise Rejected(f"{sub.type}: not signed by guardian {gid}'s key")
    return gid


def _guardian_key(org: Organiser, sub: Submission) -> None:
    _ceremony_guardian(org, sub, "guardian_key", "election_context")
    gk = parse_guardian_key(org.group, org.manifest, sub.data)
    problems = guardian_key_problems(org.group, org.election_id, gk)
    if problems:
        raise Rejected(f"guardian_key: {problems[0]}")


def _guardian_shares(org: Organiser, sub: Submission) -> None:
    _ceremony_guardian(org, sub, "guardian_shares", "election_context")
    if org.count("guardian_key") != len(guardian_ids(org.manifest)):
        raise Rejected("guardian_shares: wait until every guardian has posted its key")
    parse_guardian_shares(org.manifest, sub.data)


def _guardian_ready(org: Organiser, sub: Submission) -> None:
    _ceremony_guardian(org, sub, "guardian_ready", "election_context")
    if org.count("guardian_shares") != len(guardian_ids(org.manifest)):
        raise Rejected("guardian_ready: wait until every guardian has posted its shares")
    g, m = org.group, org.manifest
    ready = parse_guardian_ready(g, m, sub.data)
    keys = [parse_guardian_key(g, m, e.data) for _, e in org.of_type("guardian_key")]
    commitments = {k.guardian: k.commitments for k in keys}
    problems = guardian_ready_problems(g, org.election_id, m, ready, commitments)
    if problems:
        raise Rejected(f"guardian_ready: {problems[0]}")


def _credential_list(org: Organiser, sub: Submission) -> None:
    if org.has("open"):
        raise Rejected("credential_list: too late, voting has opened")
    pinned = pinned_authority_key(org.manifest)
    earlier = {e.signer for _, e in org.of_type("credential_list")}
    if (pinned and sub.signer != pinned) or (earlier and sub.signer not in earlier):
        raise Rejected("credential_list: not signed by the credential authority")
    if sub.signer == key_to_b64(org.key) or sub.signer in _guardian_signers(org):
        raise Rejected("credential_list: signed by the key of another role")
    cl = parse_credential_list(org.manifest, sub.data)
    if any(e.data.get("region") == cl.region for _, e in org.of_type("credential_list")):
        raise Rejected(f"credential_list: region {cl.region} already has its list")
    listed: set[str] = set()
    for _, e in org.of_type("credential_list"):
        listed.update(e.data["credentials"])
    if listed & set(cl.credentials):
        raise Rejected("credential_list: credentials already listed in another region")


def _guardian_signers(org: Organiser) -> set[str | None]:
    return {_guardian_key_of(org, gid) for gid in guardian_ids(org.manifest)}


def _voting_open(org: Organiser, what: str) -> None:
    if not org.has("open"):
        raise Rejected(f"{what}: voting has not opened")
    if org.has("close"):
        raise Rejected(f"{what}: voting is closed")
    now = org.clock.now()
    if not org.manifest.opens <= now <= org.manifest.closes:
        raise Rejected(f"{what}: outside the voting window")


def _ballot_context(org: Organiser) -> BallotContext:
    return org.ballot_context()


def precheck_ballot(org: Organiser, sub: Submission) -> None:
    """The checks of a ballot that need no lock: its form, its signature with its own
    credential, and its proofs. They depend only on the election context, which never
    changes once posted, so the server runs them in the request's thread before the
    ballot joins the queue; ``check_ballot_on_board`` does the rest under the lock."""
    if sub.type != "ballot" or not isinstance(sub.data, dict):
        raise Rejected("only ballots are cast here")
    if not org.has("open"):
        raise Rejected("ballot: voting has not opened")
    if not verify_entry_signature(sub.at(""), org.election_id):
        raise Rejected("ballot: missing or invalid signature")
    try:
        _ballot_alone(org, sub)
    except (EntryError, GroupError, KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, Rejected):
            raise
        raise Rejected(f"ballot: malformed ({exc})") from exc


def _ballot_alone(org: Organiser, sub: Submission) -> None:
    d = sub.data
    if sub.signer != d.get("credential"):
        raise Rejected("ballot: not signed with its own credential")
    found = check_ballot(_ballot_context(org), -1, d)
    if found:
        raise Rejected(f"ballot: {found[0].message}")


def check_ballot_on_board(
    org: Organiser, sub: Submission, pending: PendingBallots | None = None
) -> None:
    """The checks of a prechecked ballot against the board's state (call under the
    referendum's lock): the phase and window, the credential on its region's list, a
    tracking code seen neither on the board nor earlier in the batch (``pending``), and
    ``replaces`` naming the credential's head, counting the batch's earlier ballots
    (else ``Stale``)."""
    _voting_open(org, "ballot")
    d = sub.data
    credential = d.get("credential")
    if credential not in org.credentials(d.get("region")):
        raise Rejected("ballot: credential not on the list of its region")
    code = d["tracking_code"]
    if code in org.tracking_codes() or (pending is not None and code in pending.codes):
        raise Rejected("ballot: this tracking code is already on the board (replayed ballot?)")
    head = credential_head(org, str(credential), pending)
    if d.get("replaces") != head["tracking_code"]:
        raise Stale(head)


def credential_head(
    org: Organiser, credential: str, pending: PendingBallots | None = None
) -> dict[str, Any]:
    """``{"tracking_code", "index"}`` of the credential's head: its batch's latest
    ballot if ``pending`` holds one, else the board's (both None before any ballot)."""
    if pending is not None and credential in pending.heads:
        code, index = pending.heads[credential]
        return {"tracking_code": code, "index": index}
    code_, index_ = org.head(credential)
    return {"tracking_code": code_, "index": index_}


def _ballot(org: Organiser, sub: Submission) -> None:
    _voting_open(org, "ballot")
    _ballot_alone(org, sub)
    check_ballot_on_board(org, sub)


def _challenged(org: Organiser, sub: Submission) -> None:
    _voting_open(org, "challenged_ballot")
    if sub.signer is not None or sub.signature is not None:
        raise Rejected("challenged_ballot: must be anonymous (no signer, no signature)")
    problem = check_challenged(_ballot_context(org), -1, sub.data)
    if problem:
        raise Rejected(f"challenged_ballot: {problem}")
    if sub.data["tracking_code"] in org.tracking_codes():
        raise Rejected("challenged_ballot: this tracking code is already on the board")


def _decryption_share(org: Organiser, sub: Submission) -> None:
    d: dict[str, Any] = sub.data
    gid = d.get("guardian")
    if not isinstance(gid, str) or gid not in guardian_ids(org.manifest):
        raise Rejected(f"decryption_share: unknown guardian {gid!r}")
    if sub.signer != _guardian_key_of(org, gid):
        raise Rejected(f"decryption_share: not signed by guardian {gid}'s key")
    tally_index, posted = org.posted_tally()
    if not json_equal(d.get("tally_index"), tally_index):
        raise Rejected("decryption_share: not about the posted tally")
    if org.has("result"):
        raise Rejected("decryption_share: the result is already posted")
    if any(e.data.get("guardian") == gid for _, e in org.of_type("decryption_share")):
        raise Rejected(f"decryption_share: guardian {gid} already posted its shares")
    g, m = org.group, org.manifest
    ready = [e.data for _, e in org.of_type("guardian_ready") if e.data["guardian"] == gid]
    vk = codec.element(g, ready[0]["verification_key"])
    ctx, _ = org.context()
    # The posted tally, which the board checked against its ballots when it posted it.
    tally = parse_tally(g, m, posted)
    ds = parse_decryption_share(g, m, d, tally)
    problems = decryption_share_problems(g, ctx, vk, ds, tally)
    if problems:
        raise Rejected(f"decryption_share: {problems[0]}")


def _dispute(org: Organiser, sub: Submission) -> None:
    """A voter (signing with their credential) or an observer (with their key) disputes
    a receipt that does not verify or a failed check; disputes are public."""
    from plebiscite.record.protocol import dispute_problem

    problem = dispute_problem(sub.data, org.manifest.regions)
    if problem:
        raise Rejected(f"dispute: {problem}")
    observer_keys = {o["public_key"] for o in org.observers().values()}
    listed: set[str] = set()
    for _, e in org.of_type("credential_list"):
        listed.update(e.data["credentials"])
    if sub.signer not in observer_keys and sub.signer not in listed:
        raise Rejected("dispute: sign it with your voting credential or an observer's key")
