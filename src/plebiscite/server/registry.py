"""The referendums a server hosts, each an organiser data folder under ``DATA/referendums``.

Layout of the server's data folder::

    DATA/server.json                     server secret (sign-in code HMACs), admin token hash
    DATA/referendums/<id>/board.sqlite   the board (entries, checkpoints)
    DATA/referendums/<id>/board-key.json the board's signing key
    DATA/referendums/<id>/voters.sqlite  sign-in codes (as HMACs) and sessions
    DATA/referendums/<id>/demo/          demo only: the guardians' and the authority's keys

The board keys and ``server.json`` are sealed under the server's passphrase when it has
one (``serve --passphrase-file``, ``PLEBISCITE_PASSPHRASE``); without one (the demo, or
``--insecure-plaintext``) they are plain and say why.

Every write to a board goes through its referendum's lock, so the board's state in
memory and on disk never diverge; reads of the durable board need no lock.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import threading
from pathlib import Path
from typing import Any

from plebiscite.election.clock import Clock
from plebiscite.election.keys import NO_REASON, Passphrase, read_secret_json, write_secret_json
from plebiscite.election.organiser import Organiser
from plebiscite.server.voters import VoterDB


class Referendum:
    def __init__(
        self,
        rid: str,
        folder: Path,
        secret: bytes,
        clock: Clock | None = None,
        passphrase: Passphrase | None = None,
        allow_plaintext: bool = False,
    ) -> None:
        self.id = rid
        self.folder = folder
        self.lock = threading.RLock()
        self.org = Organiser(folder, clock, passphrase, allow_plaintext=allow_plaintext)
        self.voters = VoterDB(folder / "voters.sqlite", secret)

    @property
    def demo(self) -> bool:
        return (self.folder / "demo").is_dir()

    def stage(self) -> str:
        for t, stage in (
            ("result", "decided"),
            ("tally", "tallied"),
            ("close", "closed"),
            ("open", "voting"),
            ("election_context", "ready"),
        ):
            if self.org.has(t):
                return stage
        return "setting up"

    def close(self) -> None:
        self.org.close_store()
        self.voters.close()


class Registry:
    def __init__(
        self,
        data: Path,
        clock: Clock | None = None,
        database: str | None = None,
        passphrase: Passphrase | None = None,
        plaintext: str = NO_REASON,
        allow_plaintext: bool | None = None,
    ) -> None:
        """Open (or start) a server's data folder. With ``passphrase`` the keys are
        sealed; without, new keys are written unencrypted saying why (``plaintext``).
        Unencrypted keys are read only with ``allow_plaintext`` (default: when there is
        no passphrase, so a sealed server never runs on a key swapped for a plain one).
        Raises ``keys.SecretFileError`` for a file it cannot open or must refuse."""
        self.data = Path(data)
        self.clock = clock
        self.database = database
        self.passphrase = passphrase
        self.plaintext = plaintext
        self.allow_plaintext = passphrase is None if allow_plaintext is None else allow_plaintext
        (self.data / "referendums").mkdir(parents=True, exist_ok=True)
        conf = self.data / "server.json"
        if not conf.exists():
            self._write_config(
                {
                    "kind": "plebiscite server secrets",
                    "secret": base64.b64encode(secrets.token_bytes(32)).decode(),
                }
            )
        self.config: dict[str, Any] = read_secret_json(
            conf, passphrase, allow_plaintext=self.allow_plaintext
        )
        self.secret = base64.b64decode(self.config["secret"])
        self.lock = threading.Lock()
        self.referendums: dict[str, Referendum] = {}
        for folder in sorted((self.data / "referendums").iterdir()):
            if (folder / "board-key.json").exists():
                self.referendums[folder.name] = Referendum(
                    folder.name, folder, self.secret, clock, passphrase, self.allow_plaintext
                )

    def _write_config(self, config: dict[str, Any]) -> None:
        write_secret_json(
            self.data / "server.json", config, self.passphrase, plaintext=self.plaintext
        )

    # -- admin token ------------------------------------------------------------------

    def new_admin_token(self) -> str:
        """Make a new admin token (its hash is kept); returns the token once."""
        token = secrets.token_urlsafe(24)
        self.config["admin_token_sha256"] = hashlib.sha256(token.encode()).hexdigest()
        self.config.pop("unencrypted", None)
        self._write_config(self.config)
        return token

    def has_admin_token(self) -> bool:
        return "admin_token_sha256" in self.config

    def check_admin(self, token: str | None) -> bool:
        want = self.config.get("admin_token_sha256")
        if not token or not want:
            return False
        return secrets.compare_digest(hashlib.sha256(token.encode()).hexdigest(), want)

    # -- referendums ------------------------------------------------------------------

    def create(self, manifest: dict[str, Any], demo: bool = False) -> Referendum:
        """A new referendum (``demo``: one whose roles this server plays itself)."""
        import tempfile

        with self.lock:
            tmp = Path(tempfile.mkdtemp(prefix=".new-", dir=self.data / "referendums"))
            os.rmdir(tmp)
            org = Organiser.init(
                tmp, manifest, self.clock, self.database, self.passphrase, self.plaintext, demo
            )
            rid = org.election_id[:16]
            org.close_store()
            folder = self.data / "referendums" / rid
            os.replace(tmp, folder)
            ref = Referendum(
                rid, folder, self.secret, self.clock, self.passphrase, self.allow_plaintext
            )
            self.referendums[rid] = ref
            return ref

    def get(self, rid: str) -> Referendum | None:
        return self.referendums.get(rid)

    def only(self) -> Referendum | None:
        return next(iter(self.referendums.values())) if len(self.referendums) == 1 else None

    def close(self) -> None:
        for r in self.referendums.values():
            r.close()
