"""A client of the server's JSON API, for the command-line voter, receipt checks and
(later) observers' mirrors. Independent of the server's code: it speaks only HTTP."""

from __future__ import annotations

from typing import Any

import httpx


class ClientError(RuntimeError):
    """The server refused or could not be reached; the message is one line."""


class Client:
    def __init__(self, server: str, timeout: float = 60.0) -> None:
        self.base = server.rstrip("/")
        self.http = httpx.Client(base_url=self.base, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        try:
            r = self.http.request(method, path, **kw)
        except httpx.HTTPError as exc:
            raise ClientError(f"{self.base}: {exc}") from exc
        if r.status_code >= 400:
            try:
                detail = r.json().get("detail", r.text)
            except ValueError:
                detail = r.text[:200]
            raise ClientError(f"{self.base}{path}: {r.status_code} {detail}")
        ctype = r.headers.get("content-type", "").split(";")[0].strip()
        return r.json() if ctype == "application/json" else r.text

    def get(self, path: str, **params: Any) -> Any:
        return self._call("GET", path, params=params or None)

    def post(self, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
        return self._call("POST", path, json=body, headers=headers)

    def referendum_id(self, wanted: str | None) -> str:
        refs = self.get("/api/referendums")
        ids = [r["id"] for r in refs]
        if wanted:
            if wanted not in ids:
                raise ClientError(f"the server holds no referendum {wanted!r} ({', '.join(ids)})")
            return wanted
        if len(ids) != 1:
            raise ClientError(
                f"the server holds {len(ids)} referendums: name one with --referendum"
            )
        return str(ids[0])

    def entries_raw(self, rid: str) -> list[bytes]:
        text = self._call("GET", f"/api/referendums/{rid}/record/entries.jsonl")
        return [line.encode() for line in str(text).split("\n") if line]

    def checkpoints_raw(self, rid: str) -> list[bytes]:
        text = self._call("GET", f"/api/referendums/{rid}/record/checkpoints.jsonl")
        return [line.encode() for line in str(text).split("\n") if line]

    def cosignatures_raw(self, rid: str) -> list[bytes]:
        text = self._call("GET", f"/api/referendums/{rid}/record/cosignatures.jsonl")
        return [line.encode() for line in str(text).split("\n") if line]

    def election_of(self, rid: str) -> str:
        """The election id the server *claims* for a referendum (to choose one; whoever
        relies on it recomputes it from the board's referendum entry)."""
        info = self.get(f"/api/referendums/{rid}")
        return str(info.get("election_id", "")) if isinstance(info, dict) else ""

    def referendum_for(self, wanted: str | None, anchor: str | None) -> str:
        """The referendum to act on: ``wanted`` when given, else the only one, else the
        one whose election id starts with ``anchor`` (an id or a fingerprint)."""
        if wanted or anchor is None:
            return self.referendum_id(wanted)
        ids = [str(r["id"]) for r in self.get("/api/referendums")]
        if len(ids) == 1:
            return ids[0]
        found = [rid for rid in ids if self.election_of(rid).startswith(anchor)]
        if len(found) != 1:
            raise ClientError(
                f"the server holds {len(ids)} referendums, {len(found)} of them with this"
                " election: name one with --referendum"
            )
        return found[0]

    def get_bytes(self, path: str) -> tuple[int, bytes]:
        """A file as served: (HTTP status, body); ``ClientError`` only when unreachable."""
        try:
            r = self.http.get(path)
        except httpx.HTTPError as exc:
            raise ClientError(f"{self.base}: {exc}") from exc
        return r.status_code, r.content
