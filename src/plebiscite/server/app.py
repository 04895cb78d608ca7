"""The web server: a JSON API (documented at /openapi.json) and the pages.

Every error on bad input is a 4xx with a JSON body ``{"detail": ...}``; a ballot is
acknowledged (receipt returned) only once it is durably on the board.
"""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from plebiscite import __version__
from plebiscite.board.checkpoint import Checkpoint
from plebiscite.board.merkle import leaf_hash
from plebiscite.election.intake import Rejected, Stale, credential_head, precheck_ballot
from plebiscite.election.organiser import Organiser, OrganiserError
from plebiscite.election.tally import TallyError
from plebiscite.record.canonical import canonical_bytes
from plebiscite.record.entries import EntryError, Submission, b64decode, parse_entry_time
from plebiscite.server.castqueue import BATCH_LIMIT, QUEUE_LIMIT, Busy, CastQueue, Unavailable
from plebiscite.server.registry import Referendum, Registry
from plebiscite.server.voters import Voter, VoterError

SESSION_COOKIE = "plebiscite_session"
STATIC = Path(__file__).parent / "static"


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(
        min_length=1, max_length=64, description="The sign-in code the organiser sent."
    )


class SubmissionIn(BaseModel):
    """A signed entry before the board stamps its time (anonymous challenged ballots have
    no signer and no signature)."""

    model_config = ConfigDict(extra="forbid")
    type: str = Field(max_length=32)
    data: dict[str, Any]
    signer: str | None = Field(default=None, max_length=64)
    signature: str | None = Field(default=None, max_length=128)

    def submission(self) -> Submission:
        return Submission(self.type, self.data, self.signer, self.signature)


class HeadOut(BaseModel):
    tracking_code: str | None
    index: int | None


class StaleOut(BaseModel):
    detail: str
    head: HeadOut


class ErrorItem(BaseModel):
    loc: list[str]
    msg: str


class ErrorOut(BaseModel):
    """Every client error: a message in ``detail``; a request that does not match the
    schema also lists what is wrong in ``errors``."""

    detail: Any
    errors: list[ErrorItem] | None = None


# Declared for every operation in place of FastAPI's default 422 (whose ``detail`` is a
# list), so the schema says what the error handlers below actually send.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorOut, "description": 'Client error: `{"detail": ...}`'}
}


class RateLimiter:
    """At most ``limit`` events per ``window`` seconds per key (sign-in attempts per
    client address), so sign-in codes cannot be guessed online."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self._events: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            q = self._events[key]
            while q and q[0] < now - self.window:
                q.popleft()
            if len(q) >= self.limit:
                return False
            q.append(now)
            return True


class SecurityHeaders:
    """Adds the security headers to every HTTP response. A plain ASGI middleware: it
    only rewrites the start message, so a request costs no extra task or stream (as
    Starlette's ``BaseHTTPMiddleware`` would, on the cast path too)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", _csp().encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [h for h in self.headers if h[0] not in names]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _csp() -> str:
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "worker-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'"
    )


def create_app(
    registry: Registry,
    *,
    demo: bool = False,
    secure_cookies: bool = False,
    signin_limit: int = 10,
    cast_queue_limit: int = QUEUE_LIMIT,
    cast_batch: int = BATCH_LIMIT,
) -> FastAPI:
    stop = threading.Event()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        worker = threading.Thread(target=_scheduler, args=(registry, stop), daemon=True)
        worker.start()
        yield
        stop.set()
        for q in list(app.state.cast_queues.values()):
            q.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="plebiscite",
        version=__version__,
        description="A referendum platform whose result nobody has to take on trust.",
        docs_url="/api/docs",
        redoc_url=None,
        responses=ERROR_RESPONSES,
    )
    app.state.registry = registry
    app.state.demo = demo
    base_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        # FastAPI files an error body under the route's media type (text/plain for the
        # .jsonl and roll routes); errors are JSON everywhere.
        doc = base_openapi()
        for ops in doc.get("paths", {}).values():
            for op in ops.values():
                content = op.get("responses", {}).get("4XX", {}).get("content")
                if content and "application/json" not in content:
                    op["responses"]["4XX"]["content"] = {
                        "application/json": next(iter(content.values()))
                    }
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
    limiter = RateLimiter(signin_limit, 60.0)

    app.add_middleware(SecurityHeaders)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": [str(x) for x in e.get("loc", ())], "msg": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        return JSONResponse({"detail": "invalid request", "errors": errors}, status_code=422)

    # -- dependencies ------------------------------------------------------------------

    def referendum(rid: str) -> Referendum:
        ref = registry.get(rid)
        if ref is None:
            raise HTTPException(404, f"no referendum {rid!r}")
        return ref

    def admin(authorization: str | None = Header(default=None)) -> None:
        token = authorization[7:] if authorization and authorization.startswith("Bearer ") else None
        if not registry.check_admin(token):
            raise HTTPException(401, "admin token required (Authorization: Bearer …)")

    def refused(exc: Exception, status: int = 409) -> HTTPException:
        return HTTPException(status, str(exc))

    # -- public API --------------------------------------------------------------------

    @app.get("/api/referendums", tags=["public"])
    def list_referendums() -> list[dict[str, Any]]:
        """The referendums this server holds."""
        return [
            {
                "id": r.id,
                "title": r.org.manifest.title,
                "stage": r.stage(),
                "opens": r.org.manifest.raw["opens"],
                "closes": r.org.manifest.raw["closes"],
            }
            for r in registry.referendums.values()
        ]

    @app.get("/api/referendums/{rid}", tags=["public"])
    def referendum_info(ref: Referendum = Depends(referendum)) -> dict[str, Any]:
        """The referendum: its file, election id, board key, context, stage, latest
        checkpoint and the booth bundle's hash."""
        org = ref.org
        ctx = next((e.data for _, e in org.of_type("election_context")), None)
        cp = org.board.latest_checkpoint()
        creds = {e.data["region"]: e.data["count"] for _, e in org.of_type("credential_list")}
        return {
            "id": ref.id,
            "election_id": org.election_id,
            "manifest": org.manifest.raw,
            "board_key": org.entry(0).data["board_key"],
            "origin": org.origin,
            "context": ctx,
            "stage": ref.stage(),
            "credentials": creds,
            "guardians": [
                {"guardian": e.data["guardian"], "key": e.signer}
                for _, e in org.of_type("guardian_key")
            ],
            "checkpoint": cp.to_json() if cp else None,
            "booth": booth_hashes(),
            "demo": ref.demo,
        }

    @app.post("/api/referendums/{rid}/signin", tags=["voter"])
    def sign_in(
        body: SignIn, request: Request, response: Response, ref: Referendum = Depends(referendum)
    ) -> dict[str, Any]:
        """Sign in with the code the organiser sent; sets the session cookie and returns
        the voter's region and the CSRF token to send back in ``X-CSRF-Token``."""
        client = request.client.host if request.client else "?"
        if not limiter.allow(f"{ref.id}:{client}"):
            raise HTTPException(429, "too many sign-in attempts; wait a minute")
        try:
            token, session = ref.voters.sign_in(body.code)
        except VoterError as exc:
            raise HTTPException(401, str(exc)) from exc
        response.set_cookie(
            SESSION_COOKIE,
            token,
            httponly=True,
            secure=secure_cookies,
            samesite="strict",
            max_age=3600,
            path="/",
        )
        return {"region": session.voter.region, "csrf": session.csrf, "voter": session.voter.label}

    @app.post("/api/referendums/{rid}/signout", tags=["voter"])
    def sign_out(
        request: Request, response: Response, ref: Referendum = Depends(referendum)
    ) -> dict[str, str]:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            ref.voters.sign_out(token)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return {"status": "signed out"}

    @app.get("/api/referendums/{rid}/credentials/{public_credential:path}/head", tags=["voter"])
    def head(public_credential: str, ref: Referendum = Depends(referendum)) -> dict[str, Any]:
        """The head of a credential's revote chain: the tracking code and index of its
        latest ballot on the board (both null before its first). A ballot must name it in
        ``replaces``. The public credential is its base64 (``/`` may be sent as ``%2F``
        or, as in URL-safe base64, ``_``; ``+`` as ``-``)."""
        credential = public_credential.replace("-", "+").replace("_", "/")
        try:
            b64decode(credential, 32, "public credential")
        except EntryError as exc:
            raise HTTPException(422, str(exc)) from exc
        with ref.lock:
            return credential_head(ref.org, credential)

    @app.post(
        "/api/referendums/{rid}/ballots",
        tags=["voter"],
        responses={
            409: {
                "model": StaleOut,
                "description": "The ballot's `replaces` is not its credential's head: sign "
                "it again naming `head.tracking_code`",
            },
            503: {"model": ErrorOut, "description": "Busy: retry after a moment"},
        },
    )
    async def cast_ballot(
        body: SubmissionIn,
        request: Request,
        x_csrf_token: str | None = Header(default=None),
        ref: Referendum = Depends(referendum),
    ) -> Any:
        """Cast a signed ballot (signed in, with the CSRF token); returns the receipt once
        the ballot is durably on the board. A 503 with ``Retry-After`` means the board's
        queue is full and nothing was accepted: send the same ballot again. A 409
        ``{"detail": "stale", "head": ...}`` means another ballot of the credential
        reached the board since the head was read: nothing was accepted; sign the same
        ballot again with ``replaces`` set to the new head."""
        token = request.cookies.get(SESSION_COOKIE)
        sub = body.submission()
        voter = await anyio.to_thread.run_sync(precheck, ref, token, x_csrf_token, sub)
        try:
            future = casts(ref).submit(voter, sub)
        except Busy as exc:
            raise HTTPException(503, str(exc), headers={"Retry-After": "1"}) from exc
        try:
            return await asyncio.wrap_future(future)
        except VoterError as exc:
            raise HTTPException(403, str(exc)) from exc
        except Stale as exc:
            return JSONResponse({"detail": "stale", "head": exc.head}, status_code=409)
        except (Rejected, OrganiserError) as exc:
            raise refused(exc, 422) from exc
        except Unavailable as exc:
            raise HTTPException(503, str(exc), headers={"Retry-After": "1"}) from exc

    def precheck(ref: Referendum, token: str | None, csrf: str | None, sub: Submission) -> Voter:
        """What a cast needs checked before it queues (no lock): the session, the
        CSRF token, the region, the signature and the proofs."""
        session = ref.voters.session(token)
        if session is None:
            raise HTTPException(401, "sign in first")
        if not csrf or csrf != session.csrf:
            raise HTTPException(403, "missing or wrong X-CSRF-Token")
        if sub.type != "ballot":
            raise HTTPException(422, "only ballots are cast here")
        if sub.data.get("region") != session.voter.region:
            raise HTTPException(403, f"you vote in region {session.voter.region!r}")
        try:
            precheck_ballot(ref.org, sub)
        except (Rejected, OrganiserError) as exc:
            raise refused(exc, 422) from exc
        return session.voter

    cast_queues: dict[str, CastQueue] = {}
    cast_queues_lock = threading.Lock()

    def casts(ref: Referendum) -> CastQueue:
        with cast_queues_lock:
            q = cast_queues.get(ref.id)
            if q is None:
                q = cast_queues[ref.id] = CastQueue(ref, cast_queue_limit, cast_batch)
            return q

    app.state.cast_queues = cast_queues

    @app.post("/api/referendums/{rid}/challenges", tags=["voter"])
    def post_challenge(body: SubmissionIn, ref: Referendum = Depends(referendum)) -> dict[str, Any]:
        """Post a challenged ballot anonymously (no sign-in, no credential); it is never
        counted, and anyone can check it opens to its claimed choices."""
        sub = body.submission()
        if sub.type != "challenged_ballot":
            raise HTTPException(422, "only challenged ballots are posted here")
        with ref.lock:
            try:
                return ref.org.accept(sub)
            except (Rejected, OrganiserError) as exc:
                raise refused(exc, 422) from exc

    @app.post("/api/referendums/{rid}/disputes", tags=["observers"])
    def post_dispute(body: SubmissionIn, ref: Referendum = Depends(referendum)) -> dict[str, Any]:
        """A public dispute, signed by a voter's credential or an observer's key."""
        sub = body.submission()
        if sub.type != "dispute":
            raise HTTPException(422, "only disputes are posted here")
        with ref.lock:
            try:
                return ref.org.accept(sub)
            except (Rejected, OrganiserError) as exc:
                raise refused(exc, 422) from exc

    @app.post("/api/referendums/{rid}/submissions", tags=["roles"])
    def post_submission(
        body: SubmissionIn, ref: Referendum = Depends(referendum)
    ) -> dict[str, Any]:
        """A signed entry from a guardian (ceremony steps, decryption shares) or the
        credential authority (credential lists). The signature is the authorisation."""
        sub = body.submission()
        if sub.type in ("ballot", "challenged_ballot", "dispute"):
            raise HTTPException(422, "voters use /ballots, /challenges and /disputes")
        with ref.lock:
            try:
                return ref.org.accept(sub)
            except (Rejected, OrganiserError, TallyError) as exc:
                raise refused(exc, 422) from exc

    @app.post("/api/referendums/{rid}/cosignatures", tags=["observers"])
    def post_cosignature(
        body: dict[str, Any], ref: Referendum = Depends(referendum)
    ) -> dict[str, Any]:
        """A witness's cosignature of one of this board's checkpoints (kept beside the
        log); the signature and the witness's declared key are the authorisation."""
        with ref.lock:
            try:
                added = ref.org.add_cosignature(body)
            except OrganiserError as exc:
                raise refused(exc, 422) from exc
        return {"status": "kept" if added else "already kept"}

    @app.get(
        "/api/referendums/{rid}/record/cosignatures.jsonl",
        tags=["board"],
        response_class=PlainTextResponse,
    )
    def record_cosignatures(ref: Referendum = Depends(referendum)) -> PlainTextResponse:
        """The witnesses' cosignatures, one per line."""
        text = "".join(x.decode() + "\n" for x in ref.org.cosignatures())
        return PlainTextResponse(text, media_type="application/jsonl")

    @app.get("/api/referendums/{rid}/entries", tags=["board"])
    def entries(
        ref: Referendum = Depends(referendum),
        start: int = Query(0, ge=0),
        limit: int = Query(100, ge=1, le=1000),
    ) -> dict[str, Any]:
        """A page of the board's entries, in log order."""
        size = ref.org.board.size
        stop = min(size, start + limit)
        items = (
            [json.loads(raw) for raw in ref.org.board.entries(start, stop)] if start < size else []
        )
        return {"size": size, "start": start, "entries": items}

    @app.get("/api/referendums/{rid}/checkpoints", tags=["board"])
    def checkpoints(ref: Referendum = Depends(referendum)) -> list[dict[str, Any]]:
        """Every signed checkpoint, oldest first."""
        return [cp.to_json() for cp in ref.org.board.checkpoints()]

    @app.get("/api/referendums/{rid}/checkpoint", tags=["board"])
    def latest_checkpoint(
        fresh: bool = False, ref: Referendum = Depends(referendum)
    ) -> dict[str, Any]:
        """The latest signed checkpoint; with ``fresh=1``, one the board signs now (of
        its current size) unless its latest is already less than a few seconds old, so a
        witness whose clock finds the latest too old can cosign a current one."""
        with ref.lock:
            cp = fresh_checkpoint(ref.org) if fresh else ref.org.board.latest_checkpoint()
        if cp is None:
            raise HTTPException(404, "no checkpoint yet")
        return cp.to_json()

    @app.get("/api/referendums/{rid}/proof/inclusion", tags=["board"])
    def inclusion(
        ref: Referendum = Depends(referendum), index: int = Query(ge=0), size: int = Query(ge=1)
    ) -> dict[str, Any]:
        """The inclusion proof of entry ``index`` in the tree of ``size`` entries."""
        if index >= size or size > ref.org.board.size:
            raise HTTPException(422, "need index < size <= board size")
        raw = ref.org.board.entry(index)
        return {
            "index": index,
            "size": size,
            "entry_hash": leaf_hash(raw).hex(),
            "proof": [h.hex() for h in ref.org.board.inclusion_proof(index, size)],
        }

    @app.get("/api/referendums/{rid}/proof/consistency", tags=["board"])
    def consistency(
        ref: Referendum = Depends(referendum), old: int = Query(ge=0), new: int = Query(ge=0)
    ) -> dict[str, Any]:
        """The consistency proof between tree sizes ``old`` and ``new``."""
        if old > new or new > ref.org.board.size:
            raise HTTPException(422, "need old <= new <= board size")
        return {
            "old": old,
            "new": new,
            "proof": [h.hex() for h in ref.org.board.consistency_proof(old, new)],
        }

    @app.get("/api/referendums/{rid}/tracking/{code}", tags=["board"])
    def tracking(code: str, ref: Referendum = Depends(referendum)) -> dict[str, Any]:
        """Find a ballot (or challenged ballot) by its tracking code; returns a fresh
        receipt under the latest checkpoint, and whether it is the last of its credential."""
        if len(code) != 64 or any(c not in "0123456789abcdef" for c in code):
            raise HTTPException(422, "a tracking code is 64 lowercase hex digits")
        with ref.lock:
            i = ref.org.tracking_codes().get(code)
            if i is None:
                raise HTTPException(404, "no ballot with this tracking code")
            e = ref.org.entry(i)
            receipt = ref.org.receipt(i)
            superseded = e.type == "ballot" and ref.org.last_ballot(e.data["credential"]) != i
        return {**receipt, "superseded": superseded}

    @app.get("/api/referendums/{rid}/results", tags=["public"])
    def results(ref: Referendum = Depends(referendum)) -> dict[str, Any]:
        """The published result, with turnout against the credentials per region."""
        res = next((e.data for _, e in ref.org.of_type("result")), None)
        if res is None:
            raise HTTPException(409, f"no result yet (stage: {ref.stage()})")
        tally = next(e.data for _, e in ref.org.of_type("tally"))
        creds = {e.data["region"]: e.data["count"] for _, e in ref.org.of_type("credential_list")}
        return {
            "counts": res["counts"],
            "counted": tally["counted"],
            "credentials": creds,
            "guardians": res["guardians"],
        }

    @app.get(
        "/api/referendums/{rid}/record/entries.jsonl",
        tags=["board"],
        response_class=PlainTextResponse,
    )
    def record_entries(ref: Referendum = Depends(referendum)) -> StreamingResponse:
        """The record's entries, one canonical JSON per line (stream)."""

        def gen() -> Iterator[bytes]:
            for raw in ref.org.board.entries():
                yield raw + b"\n"

        return StreamingResponse(gen(), media_type="application/jsonl")

    @app.get(
        "/api/referendums/{rid}/record/checkpoints.jsonl",
        tags=["board"],
        response_class=PlainTextResponse,
    )
    def record_checkpoints(ref: Referendum = Depends(referendum)) -> PlainTextResponse:
        """The record's signed checkpoints, one per line."""
        lines = [
            canonical_bytes(cp.to_json()).decode() + "\n" for cp in ref.org.board.checkpoints()
        ]
        return PlainTextResponse("".join(lines), media_type="application/jsonl")

    # -- admin API ---------------------------------------------------------------------

    @app.post("/api/admin/referendums", tags=["admin"], dependencies=[Depends(admin)])
    def create_referendum(manifest: dict[str, Any]) -> dict[str, str]:
        """Create a referendum from its file (JSON body)."""
        from plebiscite.record.manifest import ManifestError

        try:
            ref = registry.create(manifest)
        except (ManifestError, OrganiserError) as exc:
            raise HTTPException(422, str(exc)) from exc
        return {"id": ref.id, "election_id": ref.org.election_id}

    @app.post(
        "/api/admin/referendums/{rid}/roll",
        tags=["admin"],
        dependencies=[Depends(admin)],
        response_class=PlainTextResponse,
    )
    async def import_roll(
        request: Request, ref: Referendum = Depends(referendum)
    ) -> PlainTextResponse:
        """Import a voter roll (CSV body with columns ``region,voter``); returns the
        sign-in codes as CSV ``voter,region,code`` (shown once: print the letters)."""
        body = (await request.body()).decode("utf-8", errors="replace")
        rows = list(csv.DictReader(io.StringIO(body)))
        if not rows or "region" not in rows[0] or "voter" not in rows[0]:
            raise HTTPException(422, "the roll needs the columns region,voter")
        pairs = []
        for n, row in enumerate(rows, start=2):
            region = (row.get("region") or "").strip()
            if region not in ref.org.manifest.regions:
                raise HTTPException(422, f"line {n}: unknown region {region!r}")
            pairs.append(((row.get("voter") or "").strip(), region))
        with ref.lock:
            if ref.org.has("close"):
                raise HTTPException(409, "voting is closed")
            counts: dict[str, int] = {}
            for _, region in pairs:
                counts[region] = counts.get(region, 0) + 1
            try:
                ref.org.post_roll(counts)  # every admin action is a board entry
            except OrganiserError as exc:
                raise refused(exc) from exc
            codes = ref.voters.add_voters(pairs)
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow(["voter", "region", "code"])
        for (voter, region), code in zip(pairs, codes, strict=True):
            w.writerow([voter, region, code])
        return PlainTextResponse(out.getvalue(), media_type="text/csv")

    def step(ref: Referendum, fn: Any) -> Any:
        with ref.lock:
            try:
                return fn()
            except (OrganiserError, TallyError, Rejected) as exc:
                raise refused(exc) from exc

    @app.post("/api/admin/referendums/{rid}/context", tags=["admin"], dependencies=[Depends(admin)])
    def admin_context(ref: Referendum = Depends(referendum)) -> dict[str, Any]:
        """Post the joint key and context hash once every guardian is ready."""
        return dict(step(ref, ref.org.post_context))

    @app.post(
        "/api/admin/referendums/{rid}/observers", tags=["admin"], dependencies=[Depends(admin)]
    )
    def admin_accredit(
        observer: dict[str, Any], ref: Referendum = Depends(referendum)
    ) -> dict[str, Any]:
        """Accredit an observer after set-up (a board entry)."""
        return {"index": step(ref, lambda: ref.org.accredit(observer))}

    @app.post("/api/admin/referendums/{rid}/open", tags=["admin"], dependencies=[Depends(admin)])
    def admin_open(ref: Referendum = Depends(referendum)) -> dict[str, Any]:
        """Open voting (the open entry commits to the booth files' digests)."""
        from plebiscite.server.demo import booth_digests

        return {"index": step(ref, lambda: ref.org.open(booth_digests()))}

    @app.post("/api/admin/referendums/{rid}/close", tags=["admin"], dependencies=[Depends(admin)])
    def admin_close(ref: Referendum = Depends(referendum)) -> dict[str, Any]:
        """Close voting (in a demo, then tally, decrypt with the demo guardians and post
        the result)."""
        index = step(ref, ref.org.close)
        if ref.demo:
            from plebiscite.server.demo import finish_demo

            step(ref, lambda: finish_demo(ref))
        return {"index": index, "stage": ref.stage()}

    @app.post("/api/admin/referendums/{rid}/tally", tags=["admin"], dependencies=[Depends(admin)])
    def admin_tally(ref: Referendum = Depends(referendum)) -> dict[str, Any]:
        """Post the encrypted tally (after the close)."""
        return {"index": step(ref, ref.org.tally)}

    @app.post("/api/admin/referendums/{rid}/result", tags=["admin"], dependencies=[Depends(admin)])
    def admin_result(ref: Referendum = Depends(referendum)) -> dict[str, Any]:
        """Combine a quorum of decryption shares and post the result."""
        return dict(step(ref, ref.org.result))

    from plebiscite.server.attestations import register as register_attestations

    register_attestations(app, registry)

    from plebiscite.server.pages import mount_pages

    mount_pages(app, registry)
    return app


# While voting is open the board signs a checkpoint at least this often (seconds), so a
# witness always finds one its clock can vouch for; a requested fresh one at most every
# FRESH_AFTER_S, so anyone asking cannot make it sign without end.
CHECKPOINT_EVERY_S = 60.0
FRESH_AFTER_S = 5.0


def fresh_checkpoint(org: Organiser, older_than: float = FRESH_AFTER_S) -> Checkpoint:
    """The latest checkpoint if it is less than ``older_than`` seconds old by the board's
    clock, else a new one of the current size signed now (the caller holds the lock)."""
    latest = org.board.latest_checkpoint()
    if latest is not None:
        age = (org.clock.now() - parse_entry_time(latest.time)).total_seconds()
        if 0 <= age < older_than:
            return latest
    return org.checkpoint()


def _scheduler(registry: Registry, stop: threading.Event, every: float = 2.0) -> None:
    """Open each referendum at its opening time once it is ready (ceremony done, every
    region's credential list posted), close it at its closing time (a demo then tallies,
    decrypts and publishes its result). Each action is a board entry. While voting is
    open, sign a checkpoint at least once a minute."""
    from plebiscite.server.demo import booth_digests, finish_demo

    while not stop.wait(every):
        for ref in list(registry.referendums.values()):
            org = ref.org
            now = org.clock.now()
            try:
                with ref.lock:
                    lists = {e.data["region"] for _, e in org.of_type("credential_list")}
                    if (
                        not org.has("open")
                        and org.has("election_context")
                        and lists == set(org.manifest.regions)
                        and org.manifest.opens <= now < org.manifest.closes
                    ):
                        org.open(booth_digests())
                    if org.has("open") and not org.has("close") and now >= org.manifest.closes:
                        org.close()
                        if ref.demo:
                            finish_demo(ref)
                    if org.has("open") and not org.has("close"):
                        fresh_checkpoint(org, CHECKPOINT_EVERY_S)
            except (OrganiserError, TallyError, Rejected):
                continue  # not ready yet; an admin can see why on the referendum page


def booth_hashes() -> dict[str, Any]:
    """The booth bundle's SHA-256 and subresource-integrity hashes (built at install)."""
    path = STATIC / "js" / "bundle-hashes.json"
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
