"""Forensics: figures per region that an observer looks at beside the checks.

Accumulated entry by entry while the verifier streams the board (``Accumulator``; or,
for a state built by hand, from its list of entries), with the referendum file and the
credential lists: turnout against the credentials and against the voter roll, each
region's share of the turnout, ballots outside the voting window, a histogram of cast
times over the window, the shares of revotes and of challenged ballots, and disputes.
``warnings`` flag what deserves a closer look (very high turnout, many revotes, a spike
of ballots in one part of the window, ...). Warnings are data, not failures: the
failures (turnout above the credentials, V16; ballots outside the window, V15) are the
checks' job.

Never raises on a malformed record: what cannot be read is left out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from plebiscite.record.entries import Entry
    from plebiscite.record.manifest import Manifest
    from plebiscite.verify.state import State

BUCKETS = 24
TURNOUT_WARN = 0.95  # turnout above this share of the credentials (or of the roll)
REVOTE_WARN = 0.10  # revotes above this share of the ballots cast
CHALLENGE_WARN = 0.10  # challenged ballots above this share of all ballots posted
SPIKE_FACTOR = 5.0  # one bucket holding this many times the mean bucket
MIN_BALLOTS = 20  # shares and spikes of fewer ballots say nothing


def _share(n: int, of: int | None) -> float | None:
    return round(n / of, 4) if of else None


class Accumulator:
    """The per-region figures, fed one entry at a time in log order (the verifier
    streams the board; nothing is kept per ballot but each voter's region)."""

    def __init__(self, manifest: Manifest, opens_at: int | None, close_at: int | None, n: int):
        from plebiscite.verify.ballots import entry_micros

        self.m = manifest
        self.opens_at = opens_at
        self.end = close_at if close_at is not None else n
        self.start = opens_at if opens_at is not None else self.end  # as V16
        self.opens_us = entry_micros(manifest.opens)
        self.closes_us = entry_micros(manifest.closes)
        self.span = (manifest.closes - manifest.opens).total_seconds()
        regions = list(manifest.regions)
        self.roll: dict[str, int] = {}
        self.cast: dict[str, int] = dict.fromkeys(regions, 0)
        self.outside: dict[str, int] = dict.fromkeys(regions, 0)
        self.hist: dict[str, list[int]] = {r: [0] * BUCKETS for r in regions}
        self.last: dict[str, str] = {}  # credential -> region of its last ballot that counts
        self.signed: dict[str, int] = dict.fromkeys(regions, 0)  # ballots naming a credential
        self.voters: dict[str, set[str]] = {}  # region -> credentials that cast a ballot
        self.challenged: dict[str, int] = dict.fromkeys(regions, 0)
        self.disputes: dict[str, int] = dict.fromkeys(regions, 0)
        self.other_disputes = 0

    def voter_roll(self, data: Any) -> None:
        if isinstance(data.get("regions"), dict):
            for r, n in data["regions"].items():
                if r in self.m.regions and isinstance(n, int) and not isinstance(n, bool) and n > 0:
                    self.roll[r] = self.roll.get(r, 0) + n

    def add(self, i: int, type_: str, region: Any, credential: Any, when_us: int) -> None:
        """Entry ``i`` of type ``type_`` (its data's region and credential, its time)."""
        r = region if isinstance(region, str) else None
        if type_ == "dispute":
            if r in self.disputes:
                self.disputes[r] += 1
            else:
                self.other_disputes += 1
            return
        if r not in self.cast:
            return
        if type_ == "challenged_ballot":
            self.challenged[r] += 1
            return
        if type_ != "ballot":
            return
        self.cast[r] += 1
        in_window = self.opens_us <= when_us <= self.closes_us
        if not in_window or self.opens_at is None or i < self.opens_at or i > self.end:
            self.outside[r] += 1
        elif self.span > 0:
            k = int((when_us - self.opens_us) / 1_000_000 / self.span * BUCKETS)
            self.hist[r][min(k, BUCKETS - 1)] += 1
        if isinstance(credential, str):
            self.signed[r] += 1
            self.voters.setdefault(r, set()).add(credential)
            if self.start < i < self.end:
                self.last[credential] = r

    def figures(self, credentials: dict[str, set[str]]) -> dict[str, Any]:
        m = self.m
        regions = list(m.regions)
        roll, cast, challenged, disputes = self.roll, self.cast, self.challenged, self.disputes
        counted: dict[str, int] = dict.fromkeys(regions, 0)
        for r in self.last.values():
            counted[r] += 1
        total_counted = sum(counted.values())

        out: dict[str, Any] = {}
        warnings: list[str] = []
        for r in regions:
            creds = len(credentials.get(r, ()))
            revotes = self.signed[r] - len(self.voters.get(r, ()))
            posted = cast[r] + challenged[r]
            f = {
                "credentials": creds,
                "roll": roll.get(r),
                "ballots": cast[r],
                "counted": counted[r],
                "turnout": _share(counted[r], creds),
                "turnout_roll": _share(counted[r], roll.get(r)),
                "turnout_share": _share(counted[r], total_counted),
                "outside_window": self.outside[r],
                "histogram": self.hist[r],
                "revotes": revotes,
                "revote_share": _share(revotes, cast[r]),
                "challenged": challenged[r],
                "challenge_share": _share(challenged[r], posted),
                "disputes": disputes[r],
            }
            out[r] = f
            warnings += _warnings(r, f)
        if self.other_disputes:
            warnings.append(f"{self.other_disputes} dispute(s) name no region of this referendum")
        totals = {
            "credentials": sum(x["credentials"] for x in out.values()),
            "roll": sum(roll.values()) if roll else None,
            "ballots": sum(cast.values()),
            "counted": total_counted,
            "outside_window": sum(self.outside.values()),
            "revotes": sum(x["revotes"] for x in out.values()),
            "challenged": sum(challenged.values()),
            "disputes": sum(disputes.values()) + self.other_disputes,
        }
        totals["turnout"] = _share(total_counted, totals["credentials"])
        window = {
            "opens": m.raw.get("opens"),
            "closes": m.raw.get("closes"),
            "buckets": BUCKETS,
            "bucket_seconds": round(self.span / BUCKETS, 3),
        }
        return {"regions": out, "totals": totals, "window": window, "warnings": warnings}


def forensics(state: State) -> dict[str, Any]:
    """Forensic figures per region, totals and warnings, from the verifier's state:
    what it accumulated while streaming the board, or else its list of entries."""
    m = state.manifest
    if m is None:
        return {
            "regions": {},
            "totals": {},
            "window": None,
            "warnings": ["no valid referendum file (V04): no forensics"],
        }
    acc = getattr(state, "forensic", None)
    if acc is None:
        entries = [(i, e) for i, e in enumerate(state.entries) if e is not None]
        opens_at = next((i for i, e in entries if e.type == "open"), None)
        close_at = next((i for i, e in entries if e.type == "close"), None)
        acc = Accumulator(m, opens_at, close_at, len(state.entries))
        for i, e in entries:
            if e.type == "voter_roll":
                acc.voter_roll(e.data)
            acc.add(i, e.type, e.data.get("region"), e.data.get("credential"), _micros(e))
    return acc.figures(state.credentials)


def _micros(e: Entry) -> int:
    from plebiscite.verify.ballots import entry_micros

    return entry_micros(e.when)


def _warnings(r: str, f: dict[str, Any]) -> list[str]:
    w = []
    creds, roll, counted = f["credentials"], f["roll"], f["counted"]
    if creds and counted > creds:
        w.append(f"region {r}: {counted} counted ballots for {creds} credentials (above 100%)")
    elif creds and counted / creds > TURNOUT_WARN:
        w.append(f"region {r}: turnout {counted / creds:.1%} of the credentials")
    if roll is not None and creds > roll:
        w.append(f"region {r}: {creds} credentials for {roll} voters on the roll")
    if roll and counted / roll > TURNOUT_WARN:
        w.append(f"region {r}: turnout {counted / roll:.1%} of the voter roll")
    if not roll and counted:
        w.append(f"region {r}: ballots counted but no voter roll published")
    if f["outside_window"]:
        w.append(f"region {r}: {f['outside_window']} ballot(s) outside the voting window")
    if f["ballots"] >= MIN_BALLOTS and f["revotes"] / f["ballots"] > REVOTE_WARN:
        w.append(f"region {r}: {f['revote_share']:.1%} of the ballots are revotes")
    posted = f["ballots"] + f["challenged"]
    if posted >= MIN_BALLOTS and f["challenged"] / posted > CHALLENGE_WARN:
        w.append(f"region {r}: {f['challenge_share']:.1%} of the ballots were challenged")
    inside = sum(f["histogram"])
    if inside >= MIN_BALLOTS:
        peak = max(f["histogram"])
        if peak > SPIKE_FACTOR * inside / BUCKETS:
            k = f["histogram"].index(peak)
            w.append(
                f"region {r}: a spike of {peak} of {inside} ballots in one {100 / BUCKETS:.1f}%"
                f" of the voting window (bucket {k})"
            )
    if f["disputes"]:
        w.append(f"region {r}: {f['disputes']} dispute(s)")
    return w
