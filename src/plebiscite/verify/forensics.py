"""Forensics: figures per region that an observer looks at beside the checks.

Computed from the verifier's parsed state (entries, referendum file, credential lists):
turnout against the credentials and against the voter roll, each region's share of the
turnout, ballots outside the voting window, a histogram of cast times over the window,
the shares of revotes and of challenged ballots, and disputes. ``warnings`` flag what
deserves a closer look (very high turnout, many revotes, a spike of ballots in one part
of the window, ...). Warnings are data, not failures: the failures (turnout above the
credentials, V16; ballots outside the window, V15) are the checks' job.

Never raises on a malformed record: what cannot be read is left out.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from plebiscite.record.entries import Entry
    from plebiscite.verify.checks import State

BUCKETS = 24
TURNOUT_WARN = 0.95  # turnout above this share of the credentials (or of the roll)
REVOTE_WARN = 0.10  # revotes above this share of the ballots cast
CHALLENGE_WARN = 0.10  # challenged ballots above this share of all ballots posted
SPIKE_FACTOR = 5.0  # one bucket holding this many times the mean bucket
MIN_BALLOTS = 20  # shares and spikes of fewer ballots say nothing


def _share(n: int, of: int | None) -> float | None:
    return round(n / of, 4) if of else None


def _region(e: Entry) -> str | None:
    r = e.data.get("region")
    return r if isinstance(r, str) else None


def forensics(state: State) -> dict[str, Any]:
    """Forensic figures per region, totals and warnings, from the verifier's state."""
    m = state.manifest
    if m is None:
        return {
            "regions": {},
            "totals": {},
            "window": None,
            "warnings": ["no valid referendum file (V04): no forensics"],
        }
    entries = [(i, e) for i, e in enumerate(state.entries) if e is not None]
    opens_at = next((i for i, e in entries if e.type == "open"), None)
    close_at = next((i for i, e in entries if e.type == "close"), None)
    end = close_at if close_at is not None else len(state.entries)
    start = opens_at if opens_at is not None else end  # as V16: nothing counts unopened

    regions = list(m.regions)
    roll: dict[str, int] = {}
    for _, e in entries:
        if e.type == "voter_roll" and isinstance(e.data.get("regions"), dict):
            for r, n in e.data["regions"].items():
                if r in m.regions and isinstance(n, int) and not isinstance(n, bool) and n > 0:
                    roll[r] = roll.get(r, 0) + n

    span = (m.closes - m.opens).total_seconds()
    cast: dict[str, int] = dict.fromkeys(regions, 0)
    outside: dict[str, int] = dict.fromkeys(regions, 0)
    hist: dict[str, list[int]] = {r: [0] * BUCKETS for r in regions}
    last: dict[str, str] = {}  # credential -> region of its last ballot that counts
    signed: dict[str, int] = dict.fromkeys(regions, 0)  # ballots naming a credential
    voters: dict[str, set[str]] = {}  # region -> credentials that cast a ballot
    challenged: dict[str, int] = dict.fromkeys(regions, 0)
    disputes: dict[str, int] = dict.fromkeys(regions, 0)
    other_disputes = 0
    for i, e in entries:
        r = _region(e)
        if e.type == "dispute":
            if r in disputes:
                disputes[r] += 1
            else:
                other_disputes += 1
            continue
        if r not in cast:
            continue
        if e.type == "challenged_ballot":
            challenged[r] += 1
            continue
        if e.type != "ballot":
            continue
        cast[r] += 1
        when: datetime = e.when
        in_window = m.opens <= when <= m.closes
        if not in_window or opens_at is None or i < opens_at or i > end:
            outside[r] += 1
        elif span > 0:
            k = int((when - m.opens).total_seconds() / span * BUCKETS)
            hist[r][min(k, BUCKETS - 1)] += 1
        cred = e.data.get("credential")
        if isinstance(cred, str):
            signed[r] += 1
            voters.setdefault(r, set()).add(cred)
            if start < i < end:
                last[cred] = r

    counted: dict[str, int] = dict.fromkeys(regions, 0)
    for r in last.values():
        counted[r] += 1
    total_counted = sum(counted.values())

    out: dict[str, Any] = {}
    warnings: list[str] = []
    for r in regions:
        creds = len(state.credentials.get(r, ()))
        revotes = signed[r] - len(voters.get(r, ()))
        posted = cast[r] + challenged[r]
        f = {
            "credentials": creds,
            "roll": roll.get(r),
            "ballots": cast[r],
            "counted": counted[r],
            "turnout": _share(counted[r], creds),
            "turnout_roll": _share(counted[r], roll.get(r)),
            "turnout_share": _share(counted[r], total_counted),
            "outside_window": outside[r],
            "histogram": hist[r],
            "revotes": revotes,
            "revote_share": _share(revotes, cast[r]),
            "challenged": challenged[r],
            "challenge_share": _share(challenged[r], posted),
            "disputes": disputes[r],
        }
        out[r] = f
        warnings += _warnings(r, f)
    if other_disputes:
        warnings.append(f"{other_disputes} dispute(s) name no region of this referendum")
    totals = {
        "credentials": sum(x["credentials"] for x in out.values()),
        "roll": sum(roll.values()) if roll else None,
        "ballots": sum(cast.values()),
        "counted": total_counted,
        "outside_window": sum(outside.values()),
        "revotes": sum(x["revotes"] for x in out.values()),
        "challenged": sum(challenged.values()),
        "disputes": sum(disputes.values()) + other_disputes,
    }
    totals["turnout"] = _share(total_counted, totals["credentials"])
    window = {
        "opens": m.raw.get("opens"),
        "closes": m.raw.get("closes"),
        "buckets": BUCKETS,
        "bucket_seconds": round(span / BUCKETS, 3),
    }
    return {"regions": out, "totals": totals, "window": window, "warnings": warnings}


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
