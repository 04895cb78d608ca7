"""Group commit for the cast path: one appender per referendum, a bounded queue.

A request checks its ballot's signature and proofs in its own thread (they depend only
on the election context), then joins the referendum's queue. The appender takes every
ballot that queued while the previous batch was committing (up to ``batch``), and under
the referendum's lock runs the checks that depend on the board's state, in arrival
order: the phase and window, the credential on its region's list, the tracking code not
yet used (on the board or earlier in the batch), ``replaces`` naming the credential's
head (a ballot earlier in the batch moves it: a second ballot of one credential in a
batch must replace the first, or is refused as stale), and the sign-in's binding to its
credential (binds earlier in the batch count). It then binds the batch's sign-ins in one
transaction, appends the batch's ballots in one transaction, signs one checkpoint, and
answers each request with its receipt under that checkpoint. So a ballot is acknowledged
only after its durable commit, and a batch costs three commits however many ballots it
holds, instead of three per ballot.

Bindings are committed before the ballots: a crash between the two leaves a sign-in
bound to a credential that has no ballot yet (harmless: it can still vote with it), never
a ballot whose sign-in could spend a second credential.

The queue is bounded: when it is full the request is refused at once (``Busy``, which
the server answers with 503 and ``Retry-After``) rather than waiting without bound.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from plebiscite.election.intake import PendingBallots, Rejected, check_ballot_on_board
from plebiscite.election.organiser import OrganiserError
from plebiscite.record.entries import Submission
from plebiscite.server.voters import Voter, VoterError

if TYPE_CHECKING:
    from plebiscite.server.registry import Referendum

log = logging.getLogger("plebiscite.cast")

QUEUE_LIMIT = 2048
BATCH_LIMIT = 256


class Busy(RuntimeError):
    """The cast queue is full: try again shortly (nothing was accepted)."""


class Unavailable(RuntimeError):
    """The board could not commit the batch: nothing in it was acknowledged."""


@dataclass
class _Cast:
    voter: Voter
    sub: Submission
    future: Future[dict[str, Any]] = field(default_factory=Future)


class CastQueue:
    def __init__(self, ref: Referendum, limit: int = QUEUE_LIMIT, batch: int = BATCH_LIMIT) -> None:
        self._ref = ref
        self._queue: queue.Queue[_Cast | None] = queue.Queue(maxsize=limit)
        self._batch = batch
        self._thread = threading.Thread(target=self._run, name=f"cast-{ref.id}", daemon=True)
        self._thread.start()
        self.batches = 0
        self.ballots = 0

    def submit(self, voter: Voter, sub: Submission) -> Future[dict[str, Any]]:
        """Queue a prechecked ballot; the future gives its receipt or the refusal."""
        cast = _Cast(voter, sub)
        try:
            self._queue.put_nowait(cast)
        except queue.Full:
            raise Busy("the board is busy: try again in a moment") from None
        return cast.future

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            items = [first]
            while len(items) < self._batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._commit(items)
                    return
                items.append(nxt)
            self._commit(items)

    def _commit(self, items: list[_Cast]) -> None:
        try:
            self._commit_batch(items)
        except Exception as exc:  # the store failed: nothing left unanswered
            log.error("cast batch of %d failed: %s", len(items), type(exc).__name__)
            for c in items:
                if not c.future.done():
                    c.future.set_exception(Unavailable("the board could not record the ballot"))

    def _commit_batch(self, items: list[_Cast]) -> None:
        ref = self._ref
        with ref.lock:
            org = ref.org
            accepted: list[_Cast] = []
            copies: list[tuple[_Cast, _Cast]] = []  # (copy, the same ballot earlier)
            first_of: dict[str, _Cast] = {}
            pending = PendingBallots(org.size)
            binds: dict[int, str] = {}
            by_credential: dict[str, int] = {}
            for c in items:
                credential = str(c.sub.data.get("credential"))
                try:
                    ref.voters.check_binding(c.voter, credential, binds, by_credential)
                except VoterError as exc:
                    c.future.set_exception(exc)
                    continue
                same = org.same_ballot(c.sub)
                if same is not None:  # a retry of a ballot already on the board
                    c.future.set_result(org.receipt(same))
                    continue
                code = str(c.sub.data.get("tracking_code"))
                earlier = first_of.get(code)
                if earlier is not None and earlier.sub == c.sub:
                    copies.append((c, earlier))  # a retry while the first is queued
                    continue
                try:
                    check_ballot_on_board(org, c.sub, pending)
                except (Rejected, OrganiserError) as exc:
                    c.future.set_exception(exc)
                    continue
                pending.add(c.sub.data)
                first_of[code] = c
                binds[c.voter.id] = credential
                by_credential[credential] = c.voter.id
                accepted.append(c)
            if not accepted:
                return
            ref.voters.bind_many(binds)
            receipts = org.append_batch([c.sub for c in accepted])
        self.batches += 1
        self.ballots += len(accepted)
        for c, r in zip(accepted, receipts, strict=True):
            c.future.set_result(r)
        for copy, earlier in copies:
            copy.future.set_result(earlier.future.result())
