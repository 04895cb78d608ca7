"""Sign-in codes and sessions: the organiser's half of a voter's right to vote.

The organiser issues a sign-in code per voter of the roll; the credential authority
issues the credential. Neither alone can cast: the server accepts a ballot only from a
signed-in voter, and only with a listed credential of the voter's region. The first
ballot binds the sign-in to its credential both ways (as Belenios does), so one code
cannot spend several credentials and one credential cannot serve several codes.

Codes are stored as HMACs under the server's secret, never in clear.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
SESSION_SECONDS = 3600


def new_code() -> str:
    """A sign-in code: 12 symbols of 5 bits (60 bits), in three groups."""
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(12))
    return "-".join(raw[i : i + 4] for i in range(0, 12, 4))


def normalise_code(code: str) -> str:
    return code.strip().replace("-", "").replace(" ", "").upper()


@dataclass(frozen=True)
class Voter:
    id: int
    label: str
    region: str
    credential: str | None


@dataclass(frozen=True)
class Session:
    voter: Voter
    csrf: str


class VoterError(ValueError):
    """A sign-in or binding is refused; the message is safe to show."""


class VoterDB:
    def __init__(self, path: Path, secret: bytes) -> None:
        self._secret = secret
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(
            """
            CREATE TABLE IF NOT EXISTS voters (
                id INTEGER PRIMARY KEY,
                label TEXT NOT NULL,
                region TEXT NOT NULL,
                code_mac BLOB NOT NULL UNIQUE,
                credential TEXT UNIQUE
            );
            CREATE TABLE IF NOT EXISTS sessions (
                token_hash BLOB PRIMARY KEY,
                voter INTEGER NOT NULL REFERENCES voters(id),
                csrf TEXT NOT NULL,
                expires REAL NOT NULL
            );
            """
        )

    def _mac(self, code: str) -> bytes:
        return hmac.new(self._secret, normalise_code(code).encode(), hashlib.sha256).digest()

    def add_voters(self, rows: list[tuple[str, str]]) -> list[str]:
        """Add ``(label, region)`` voters; returns their new sign-in codes, in order."""
        codes = [new_code() for _ in rows]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT INTO voters(label, region, code_mac) VALUES (?, ?, ?)",
                    [(lab, reg, self._mac(c)) for (lab, reg), c in zip(rows, codes, strict=True)],
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return codes

    def count_by_region(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute(
                "SELECT region, COUNT(*) FROM voters GROUP BY region"
            ).fetchall()
        return {r: n for r, n in rows}

    def sign_in(self, code: str) -> tuple[str, Session]:
        """Check a code; returns a new session token (for the cookie) and the session."""
        with self._lock:
            row = self._db.execute(
                "SELECT id, label, region, credential FROM voters WHERE code_mac = ?",
                (self._mac(code),),
            ).fetchone()
            if row is None:
                raise VoterError("unknown sign-in code")
            token = secrets.token_urlsafe(32)
            csrf = secrets.token_urlsafe(24)
            self._db.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, ?)",
                (
                    hashlib.sha256(token.encode()).digest(),
                    row[0],
                    csrf,
                    time.time() + SESSION_SECONDS,
                ),
            )
            self._db.execute("DELETE FROM sessions WHERE expires < ?", (time.time(),))
        return token, Session(Voter(*row), csrf)

    def session(self, token: str | None) -> Session | None:
        if not token:
            return None
        with self._lock:
            row = self._db.execute(
                "SELECT v.id, v.label, v.region, v.credential, s.csrf FROM sessions s "
                "JOIN voters v ON v.id = s.voter WHERE s.token_hash = ? AND s.expires > ?",
                (hashlib.sha256(token.encode()).digest(), time.time()),
            ).fetchone()
        return None if row is None else Session(Voter(*row[:4]), row[4])

    def sign_out(self, token: str) -> None:
        with self._lock:
            self._db.execute(
                "DELETE FROM sessions WHERE token_hash = ?",
                (hashlib.sha256(token.encode()).digest(),),
            )

    def check_binding(
        self,
        voter: Voter,
        credential: str,
        pending: dict[int, str] | None = None,
        pending_by_credential: dict[str, int] | None = None,
    ) -> None:
        """Refuse a credential other than the one this sign-in first voted with, or one
        another sign-in already used. ``pending`` holds the binds of the batch being
        committed (voter id -> credential, and the reverse), which count as made."""
        pending = pending or {}
        by_credential = pending_by_credential or {}
        with self._lock:
            row = self._db.execute(
                "SELECT credential FROM voters WHERE id = ?", (voter.id,)
            ).fetchone()
            other = self._db.execute(
                "SELECT id FROM voters WHERE credential = ? AND id != ?", (credential, voter.id)
            ).fetchone()
        mine = row[0] if row and row[0] is not None else pending.get(voter.id)
        if mine is not None and mine != credential:
            raise VoterError("this sign-in already voted with another credential")
        if other is not None or by_credential.get(credential, voter.id) != voter.id:
            raise VoterError("this credential is already used by another sign-in")

    def bind(self, voter: Voter, credential: str) -> None:
        self.bind_many({voter.id: credential})

    def bind_many(self, binds: dict[int, str]) -> None:
        """Bind sign-ins to their credentials (voter id -> credential) in one durable
        transaction; a sign-in already bound keeps its credential."""
        if not binds:
            return
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "UPDATE voters SET credential = ? WHERE id = ? AND credential IS NULL",
                    [(c, v) for v, c in binds.items()],
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        self._db.close()
