"""The ballots' checks (V11-V17): most findings come from the walk, which checks the
ballots in batches and follows the board in order."""

from __future__ import annotations

from collections import Counter

from plebiscite.crypto.elgamal import Ciphertext
from plebiscite.record import codec
from plebiscite.record.canonical import json_equal
from plebiscite.verify.report import CannotRun
from plebiscite.verify.state import CheckHost


class BallotChecks(CheckHost):
    # V11 / V13 / V14 share one pass over the ballots (in the walk) ------------------------
    def _findings(self, kind: str) -> list[str] | None:
        s = self.s
        w = self._walk(full=True)
        if not s.ballots:
            return None
        s.need_manifest()
        s.need_group()
        s.need_context()
        return list(w.findings.get(kind, []))

    def check_v11(self) -> list[str] | None:
        return self._findings("wellformed")

    def check_v12(self) -> list[str] | None:
        s = self.s
        s.need_manifest()
        w = self._walk(full=True)
        if not s.ballots:
            return None
        return list(w.problems["V12"])

    def check_v13(self) -> list[str] | None:
        return self._findings("proofs")

    def check_v14(self) -> list[str] | None:
        w = self._walk(full=True)
        if not self.s.ballots and not self.s.of_type("challenged_ballot"):
            return None
        found = self._findings("tracking") or []
        found += [f"tracking code {c[:16]}… appears {n} times" for c, n in w.repeats.items()]
        return found

    def check_v15(self) -> list[str] | None:
        s = self.s
        m = s.need_manifest()
        w = self._walk(full=True)
        if not s.ballots:
            return None
        problems = list(w.problems["V15"])
        hi = s.first("close")
        closing = s.entries[hi] if hi is not None else None
        if closing is not None and closing.when < m.opens:
            problems.append("the close entry predates the opening time")
        return problems

    # V16 -------------------------------------------------------------------------------
    def check_v16(self) -> list[str] | None:
        s = self.s
        m = s.need_manifest()
        w = self._walk(full=True)  # fills s.counted, follows the revote chains
        problems = list(w.problems["V16"])
        if not s.of_type("close"):
            # voting has not closed: nothing is counted yet, but a ballot that does not
            # extend its chain is already on the board
            return problems or None
        turnout: Counter[str] = Counter(r for _, r in s.counted.values())
        for r, n in turnout.items():
            if n > len(s.credentials.get(r, ())):
                have = len(s.credentials.get(r, ()))
                problems.append(f"region {r}: {n} counted ballots for {have} credentials")
        tallies = s.of_type("tally")
        if tallies:
            expected = {r: turnout.get(r, 0) for r in m.regions}
            posted = tallies[0][1].data.get("counted")
            if not json_equal(posted, expected):
                problems.append(
                    f"the tally counts {posted} ballots per region, expected {expected}"
                )
        return problems

    # V17 -------------------------------------------------------------------------------
    def check_v17(self) -> list[str] | None:
        s = self.s
        m, g = s.need_manifest(), s.need_group()
        tallies = s.of_type("tally")
        if not tallies:
            return None  # not tallied yet
        if len(tallies) != 1:
            return [f"{len(tallies)} tally entries"]
        closes = s.of_type("close")
        if not closes:
            raise CannotRun("no close entry")
        w = self._walk(full=True)
        for idx, _ in s.counted.values():
            if idx in w.malformed:
                raise CannotRun(f"counted ballot {idx} is malformed (V11)")
            if idx in w.undecodable:
                raise CannotRun(f"counted ballot {idx} is malformed")
        # The workers multiplied every ballot of the window, batch by batch; the ballots
        # a revote replaced were divided out again (Walk.divide_out_revotes).
        acc: dict[str, dict[str, dict[str, Ciphertext]]] = {}
        for r in m.regions:
            acc[r] = {}
            for q in m.region_questions(r):
                acc[r][q.id] = {}
                for x in q.slots:
                    a, b = w.plus.get((r, q.id, x), (g.identity(), g.identity()))
                    if (r, q.id, x) in w.minus:
                        a0, b0 = w.minus[(r, q.id, x)]
                        a, b = g.div(a, a0), g.div(b, b0)
                    acc[r][q.id][x] = Ciphertext(a, b)
        ti, te = tallies[0]
        d = te.data
        expected = {
            r: {q: {x: codec.ct_to_json(c) for x, c in sl.items()} for q, sl in qs.items()}
            for r, qs in acc.items()
        }
        problems = []
        if set(d) != {"close_index", "counted", "regions"} or not json_equal(
            d["close_index"], closes[0][0]
        ):
            problems.append("the tally does not name the close entry")
        if not json_equal(d.get("regions"), expected):
            problems.append("the posted tally differs from the product of the counted ballots")
        s.tally, s.tally_index = acc, ti
        return problems
