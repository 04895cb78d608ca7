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
