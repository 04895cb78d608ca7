"""One credential's revote chain, read from a record's lines: what a voter's tools need
(the head to build a ballot on, whether a receipt's ballot counts) without the whole
verifier. The rule is ``record.protocol.RevoteChains``, the one V16 applies.

Only the lines of ballots of that credential are parsed (a byte search finds them), so
following one voter's chain on a board of millions of ballots reads it once and parses a
few entries.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from plebiscite.record.canonical import CanonicalError, loads
from plebiscite.record.protocol import RevoteChains

NOT_IN_CHAIN: Final = "not counted: does not extend its credential's chain"

_BALLOT_TAIL: Final = b'"type":"ballot"}'  # how a ballot's canonical line ends


@dataclass
class Chain:
    """A credential's chain on a board: its head (tracking code and index, None before
    its first ballot) and the indices of its ballots that do not extend the chain (only
    a misbehaving board holds any; they never count)."""

    credential: str
    head: str | None = None
    head_index: int | None = None
    off_chain: list[int] = field(default_factory=list)

    def head_json(self) -> dict[str, object]:
        """As the server's head endpoint gives it."""
        return {"tracking_code": self.head, "index": self.head_index}


def follow_chain(lines: Iterable[bytes], credential: str) -> Chain:
    """Follow ``credential``'s revote chain through the board's ``lines`` (canonical
    entries, in log order). Lines that do not parse are skipped: the verifier reports
    them (V01); this only follows what the voter's own credential signed."""
    chain, rule = Chain(credential), RevoteChains()
    needle = b'"credential":"' + credential.encode() + b'"'
    for i, line in enumerate(lines):
        if not line.endswith(_BALLOT_TAIL) or needle not in line:
            continue
        try:
            data = loads(line)["data"]
            if data["credential"] != credential:
                continue
            code = data["tracking_code"]
            replaces = data.get("replaces")
        except (CanonicalError, KeyError, TypeError):
            continue
        if rule.extend(credential, replaces, str(code)):
            chain.head, chain.head_index = str(code), i
        else:
            chain.off_chain.append(i)
    return chain


def credential_of_ballot(line: bytes) -> str | None:
    """The credential of the ballot entry ``line`` (None if it is not a ballot)."""
    try:
        e = loads(line)
        if e["type"] != "ballot":
            return None
        credential = e["data"]["credential"]
    except (CanonicalError, KeyError, TypeError):
        return None
    return credential if isinstance(credential, str) else None
