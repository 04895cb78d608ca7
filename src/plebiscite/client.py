"""A client of the server's JSON API, for the command-line voter, receipt checks and
(later) observers' mirrors. Independent of the server's code: it speaks only HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

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
        return self._answer(path, self._request(method, path, **kw))

    def _request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            return self.http.request(method, path, **kw)
        except httpx.HTTPError as exc:
            raise ClientError(f"{self.base}: {exc}") from exc

    def _answer(self, path: str, r: httpx.Response) -> Any:
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

    def head(self, rid: str, public_credential: str) -> dict[str, Any]:
        """The head of a credential's revote chain: ``{"tracking_code", "index"}``."""
        got = self.get(
            f"/api/referendums/{rid}/credentials/{quote(public_credential, safe='')}/head"
        )
        if not isinstance(got, dict) or "tracking_code" not in got:
            raise ClientError(f"{self.base}: the server gave no head for the credential")
        return got

    def cast_on_head(
        self,
        rid: str,
        public_credential: str,
        signed: Callable[[str | None], dict[str, Any]],
        csrf: str,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Cast a ballot that extends the credential's revote chain: read the head, post
        ``signed(head)`` (the signed ballot replacing it); when the server answers 409
        stale (another ballot of the credential arrived in between), sign it once more
        on the head it names and post again. Returns (receipt, the submission posted)."""
        path = f"/api/referendums/{rid}/ballots"
        head = self.head(rid, public_credential)["tracking_code"]
        for attempt in (1, 2):
            sub = signed(head)
            r = self._request("POST", path, json=sub, headers={"X-CSRF-Token": csrf})
            if r.status_code == 409 and attempt == 1:
                stale = _stale_head(r)
                if stale is not None:
                    head = stale
                    continue
            return self._answer(path, r), sub
        raise AssertionError("unreachable")  # pragma: no cover


def _stale_head(r: httpx.Response) -> str | None:
    """The head a 409 "stale" answer names (None: another 409, or no head)."""
    try:
        body = r.json()
        if body.get("detail") != "stale":
            return None
        code = body["head"]["tracking_code"]
    except (ValueError, AttributeError, KeyError, TypeError):
        return None
    return code if isinstance(code, str) else None
