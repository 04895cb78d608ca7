"""The HTML pages (home, referendum, booth, tracking, board, results, admin).

Server-rendered with Jinja2 from the registry's boards, then progressively enhanced by
the page scripts under ``static/app/`` (plain ES modules: the Content-Security-Policy
allows no inline script or style). Every user-visible string comes from a catalogue in
``i18n/`` (``?lang=fr``, then the ``plebiscite_lang`` cookie, then Accept-Language); the
page scripts get the same catalogue in a JSON data block.

The booth bundle (``static/js/booth.js``) is loaded with its subresource-integrity hash
from ``static/js/bundle-hashes.json``; the page scripts and the style sheet get theirs
computed here.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import math
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from plebiscite.server.registry import Referendum, Registry

HERE = Path(__file__).parent
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"
I18N = HERE / "i18n"
LANGS = ("en", "fr")
DEFAULT_LANG = "en"
LANG_COOKIE = "plebiscite_lang"
BOARD_PAGE = 50
CHECKPOINTS_SHOWN = 20

# The catalogue keys each page's script uses (only these are embedded in the page).
SCRIPT_KEYS = {
    "booth.html": ("booth.", "check.", "receipt.", "error."),
    "track.html": ("track.", "check.", "receipt.", "entry.", "error."),
    "board.html": ("board.cp_", "check.", "error."),
    "referendum.html": ("ref.served_", "check.", "error."),
    "admin.html": ("admin.", "letter.", "error."),
}


# -- translations ----------------------------------------------------------------------


def load_catalogues() -> dict[str, dict[str, str]]:
    """Every language's catalogue (flat keys -> strings with ``{name}`` fields)."""
    out: dict[str, dict[str, str]] = {}
    for lang in LANGS:
        data = json.loads((I18N / f"{lang}.json").read_text(encoding="utf-8"))
        out[lang] = {str(k): str(v) for k, v in data.items()}
    return out


def negotiate(request: Request) -> tuple[str, bool]:
    """The page's language, and whether it was asked for explicitly (``?lang=``)."""
    asked = request.query_params.get("lang")
    if asked in LANGS:
        return str(asked), True
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in LANGS:
        return str(cookie), False
    header = request.headers.get("accept-language", "")
    best, best_q = DEFAULT_LANG, -1.0
    for i, part in enumerate(header.split(",")):
        bits = part.strip().split(";")
        tag = bits[0].strip().lower().split("-")[0]
        q = 1.0
        for b in bits[1:]:
            b = b.strip()
            if b.startswith("q="):
                try:
                    q = float(b[2:])
                except ValueError:
                    q = 0.0
        q -= i * 1e-6  # earlier wins among equals
        if tag in LANGS and q > best_q and q > 0:
            best, best_q = tag, q
    return best, False


class Translator:
    def __init__(self, catalogues: dict[str, dict[str, str]], lang: str) -> None:
        self.lang = lang
        self.cat = catalogues[lang]
        self.fallback = catalogues[DEFAULT_LANG]

    def __call__(self, key: str, **fields: Any) -> str:
        text = self.cat.get(key) or self.fallback.get(key) or key
        if fields:
            try:
                return text.format(**fields)
            except (KeyError, IndexError, ValueError):
                return text
        return text

    def entry(self, type_: str) -> str:
        """The name of an entry type (the type itself when the catalogue lacks it)."""
        key = f"entry.{type_}"
        return self.cat.get(key) or self.fallback.get(key) or type_

    def number(self, n: float, digits: int = 0) -> str:
        text = f"{n:,.{digits}f}"
        if self.lang == "fr":
            text = text.replace(",", "\u202f").replace(".", ",")
        return text

    def percent(self, share: float, digits: int = 1) -> str:
        if self.lang == "fr":
            return self.number(share * 100, digits) + "\u00a0%"
        return self.number(share * 100, digits) + "%"


# -- static files and their integrity ---------------------------------------------------


class Integrity:
    """SHA-384 subresource-integrity values of static files, recomputed when a file
    changes (cheap: keyed by modification time and size)."""

    def __init__(self) -> None:
        self._cache: dict[Path, tuple[float, int, str]] = {}

    def of(self, rel: str) -> str:
        path = STATIC / rel
        try:
            st = path.stat()
        except OSError:
            return ""
        hit = self._cache.get(path)
        if hit and hit[0] == st.st_mtime and hit[1] == st.st_size:
            return hit[2]
        sri = "sha384-" + base64.b64encode(hashlib.sha384(path.read_bytes()).digest()).decode()
        self._cache[path] = (st.st_mtime, st.st_size, sri)
        return sri


def bundle_hashes() -> dict[str, dict[str, Any]]:
    """``static/js/bundle-hashes.json``: SHA-256 and SRI of the booth bundles."""
    try:
        data = json.loads((STATIC / "js" / "bundle-hashes.json").read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, dict)}


# -- what the pages show ----------------------------------------------------------------


def show_time(text: str | None) -> str:
    """An ISO time as ``YYYY-MM-DD HH:MM UTC`` (unchanged if it does not parse)."""
    if not text:
        return ""
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if t.utcoffset() is None:
        return text
    from datetime import UTC

    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def referendum_summary(ref: Referendum) -> dict[str, Any]:
    raw = ref.org.manifest.raw
    return {
        "id": ref.id,
        "title": raw.get("title", ref.id),
        "description": raw.get("description", ""),
        "stage": ref.stage(),
        "opens": show_time(raw.get("opens")),
        "closes": show_time(raw.get("closes")),
        "demo": ref.demo,
    }


def referendum_details(ref: Referendum) -> dict[str, Any]:
    org = ref.org
    raw = org.manifest.raw
    questions = {q["id"]: q for q in raw["questions"]}
    creds = {e.data["region"]: int(e.data["count"]) for _, e in org.of_type("credential_list")}
    regions = [
        {
            "id": r["id"],
            "name": r["name"],
            "questions": [questions[q]["text"] for q in r["questions"]],
            "credentials": creds.get(r["id"]),
        }
        for r in raw["regions"]
    ]
    published = next((e.data.get("booth") for _, e in org.of_type("open")), None)
    served = {k: v.get("sha256") for k, v in bundle_hashes().items()}
    booth_files = []
    for name in sorted(set(served) | set(published or {})):
        pub = (published or {}).get(name)
        booth_files.append(
            {
                "name": name,
                "published": pub,
                "served": served.get(name),
                "match": pub is not None and pub == served.get(name),
            }
        )
    cp = org.board.latest_checkpoint()
    context = next((e.data for _, e in org.of_type("election_context")), None)
    g = raw["guardians"]
    observers: list[dict[str, Any]] = []
    listing = getattr(org, "observers", None)  # declared in the file, or accredited later
    if callable(listing):
        try:
            observers = [
                {
                    "id": k,
                    "name": v.get("name", k),
                    "kind": v.get("kind", ""),
                    "jurisdiction": v.get("jurisdiction", ""),
                    "key": v.get("public_key", ""),
                }
                for k, v in dict(listing()).items()
                if isinstance(v, dict)
            ]
        except Exception:  # an unreadable list must not take the page down
            observers = []
    return {
        **referendum_summary(ref),
        "election_id": org.election_id,
        "group": raw.get("group", "ristretto255"),
        "questions": raw["questions"],
        "regions": regions,
        "guardian_count": g["count"],
        "quorum": g["quorum"],
        "guardians": [
            {"id": e.data["guardian"], "key": e.signer} for _, e in org.of_type("guardian_key")
        ],
        "members": {
            m["id"]: m["name"] + (f" ({m['jurisdiction']})" if m.get("jurisdiction") else "")
            for m in g.get("members", [])
        },
        "organiser": raw.get("organiser"),
        "min_jurisdictions": g.get("min_jurisdictions"),
        "organiser_cannot_decrypt": bool(g.get("organiser_cannot_decrypt")),
        "witness_quorum": int(raw.get("witness_quorum", 0)),
        "witnessed_by": _witnessed_by(ref, cp),
        "authority": (raw.get("credential_authority") or {}).get("name"),
        "observers": observers,
        "rule": raw.get("rule") or {},
        "checkpoint": cp.to_json() if cp else None,
        "checkpoint_time": show_time(cp.time) if cp else "",
        "board_key": org.entry(0).data["board_key"],
        "origin": org.origin,
        "context": context,
        "booth_files": booth_files,
        "booth_published": published,
        "board_size": org.board.size,
    }


def _witnessed_by(ref: Referendum, cp: Any) -> int:
    """How many of the witnesses that count toward the quorum (those the referendum file
    declares) cosigned the latest checkpoint."""
    from plebiscite.board.cosign import parse_cosignatures, trusted_by
    from plebiscite.record.manifest import quorum_witnesses

    if cp is None:
        return 0
    witnesses = quorum_witnesses(ref.org.manifest)
    return len(trusted_by(cp, parse_cosignatures(ref.org.cosignatures()), witnesses))


def entry_summary(e: dict[str, Any]) -> str:
    """A short, language-neutral description of an entry (ids, codes, counts)."""
    d = e.get("data") or {}
    t = e.get("type")
    if t in ("ballot", "challenged_ballot"):
        return f"{d.get('region', '')} · {str(d.get('tracking_code', ''))[:16]}…"
    if t in ("guardian_key", "guardian_shares", "guardian_ready", "decryption_share"):
        return str(d.get("guardian", ""))
    if t == "credential_list":
        return f"{d.get('region', '')} · {d.get('count', '')}"
    if t == "referendum":
        return str((d.get("manifest") or {}).get("title", ""))
    if t == "close":
        return f"{d.get('ballots', '')}"
    if t == "observer_accreditation":
        return str((d.get("observer") or {}).get("name", ""))
    if t == "voter_roll" and isinstance(d.get("regions"), dict):
        return " · ".join(f"{k} {v}" for k, v in sorted(d["regions"].items()))
    return ""


def outcome(
    t: Translator, options: list[str], counts: dict[str, int], turnout: float, rule: dict[str, Any]
) -> str:
    """The referendum rule applied to one question's counts (as ``plebiscite results``)."""
    if not rule:
        return ""
    tmin = rule.get("turnout_min")
    if tmin is not None and turnout < tmin:
        return t("results.outcome_turnout", turnout=t.percent(turnout), min=t.percent(tmin, 0))
    valid = sum(v for k, v in counts.items() if k != "blank")
    if not valid:
        return t("results.outcome_none")
    maj = rule.get("majority")
    if maj is None:
        return ""
    for opt in options:
        if counts.get(opt, 0) / valid > maj:
            return t(
                "results.outcome_carries",
                option=opt,
                share=t.percent(counts[opt] / valid),
                majority=t.percent(maj, 0),
            )
    return t("results.outcome_no_majority", majority=t.percent(maj, 0))


def results_view(ref: Referendum, t: Translator) -> dict[str, Any] | None:
    """The result per region and overall, with turnout and bars; None before it."""
    org = ref.org
    res = next((e.data for _, e in org.of_type("result")), None)
    if res is None:
        return None
    tally = next(e.data for _, e in org.of_type("tally"))
    counted: dict[str, int] = {k: int(v) for k, v in tally["counted"].items()}
    creds = {e.data["region"]: int(e.data["count"]) for _, e in org.of_type("credential_list")}
    raw = org.manifest.raw
    qs = {q["id"]: q for q in raw["questions"]}
    rule = raw.get("rule") or {}

    def question_view(qid: str, counts: dict[str, int], turnout: float) -> dict[str, Any]:
        q = qs[qid]
        slots = list(q["options"]) + (["blank"] if q.get("blank") else [])
        valid = sum(v for k, v in counts.items() if k != "blank")
        total = sum(counts.get(s, 0) for s in slots)
        top = max([counts.get(s, 0) for s in slots] + [1])
        rows = []
        for s in slots:
            n = counts.get(s, 0)
            share = n / valid if valid and s != "blank" else None
            rows.append(
                {
                    "slot": s,
                    "votes": n,
                    "votes_text": t.number(n),
                    "share": t.percent(share) if share is not None else "",
                    # bar length against the largest count (SVG user units, 0..100)
                    "bar": round(100 * n / top, 2),
                }
            )
        return {
            "id": qid,
            "text": q["text"],
            "rows": rows,
            "valid": t.number(valid),
            "total": t.number(total),
            "outcome": outcome(t, list(q["options"]), counts, turnout, rule),
        }

    regions = []
    overall: dict[str, dict[str, int]] = {}
    for r in raw["regions"]:
        rid = r["id"]
        n, c = counted.get(rid, 0), creds.get(rid, 0)
        turnout = n / c if c else 0.0
        rc = res["counts"].get(rid, {})
        for qid in r["questions"]:
            acc = overall.setdefault(qid, {})
            for k, v in rc.get(qid, {}).items():
                acc[k] = acc.get(k, 0) + int(v)
        regions.append(
            {
                "id": rid,
                "name": r["name"],
                "counted": t.number(n),
                "credentials": t.number(c),
                "turnout": t.percent(turnout),
                "turnout_bar": round(100 * min(turnout, 1.0), 2),
                "questions": [question_view(q, rc.get(q, {}), turnout) for q in r["questions"]],
            }
        )
    n_all = sum(counted.values())
    c_all = sum(creds.values())
    turnout_all = n_all / c_all if c_all else 0.0
    overall_view = {
        "counted": t.number(n_all),
        "credentials": t.number(c_all),
        "turnout": t.percent(turnout_all),
        "turnout_bar": round(100 * min(turnout_all, 1.0), 2),
        "questions": [
            question_view(q["id"], overall[q["id"]], turnout_all)
            for q in raw["questions"]
            if q["id"] in overall
        ],
    }
    from plebiscite.observe.attest import (
        ATTESTATIONS,
        latest_by_observer,
        results_digest,
        summarise_folder,
        verified_count,
    )
    from plebiscite.server.attestations import board_view

    items = summarise_folder(ref.folder / ATTESTATIONS, board_view(ref))
    digest = results_digest(res["counts"])
    disputes: dict[str, int] = {}
    for _, e in org.of_type("dispute"):
        key = str(e.data.get("region") or "")
        disputes[key] = disputes.get(key, 0) + 1
    for g in regions:
        g["disputes"] = disputes.get(g["id"], 0)
    return {
        "overall": overall_view,
        "regions": regions,
        "guardians": res.get("guardians", []),
        "multi_region": len(regions) > 1,
        "attestations": sorted(latest_by_observer(items).values(), key=lambda x: x["observer"]),
        "verified_by": verified_count(items, digest),
        "verified_by_accredited": verified_count(items, digest, declared=False),
        "disputes": sum(disputes.values()),
    }


def results_csv(ref: Referendum) -> str | None:
    org = ref.org
    res = next((e.data for _, e in org.of_type("result")), None)
    if res is None:
        return None
    tally = next(e.data for _, e in org.of_type("tally"))
    creds = {e.data["region"]: int(e.data["count"]) for _, e in org.of_type("credential_list")}
    raw = org.manifest.raw
    qs = {q["id"]: q for q in raw["questions"]}
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["region", "question", "option", "votes", "counted", "credentials"])
    totals: dict[tuple[str, str], int] = {}
    for r in raw["regions"]:
        rid = r["id"]
        for qid in r["questions"]:
            q = qs[qid]
            for s in list(q["options"]) + (["blank"] if q.get("blank") else []):
                n = int(res["counts"].get(rid, {}).get(qid, {}).get(s, 0))
                totals[(qid, s)] = totals.get((qid, s), 0) + n
                w.writerow([rid, qid, s, n, tally["counted"].get(rid, 0), creds.get(rid, 0)])
    n_all = sum(int(v) for v in tally["counted"].values())
    c_all = sum(creds.values())
    for (qid, s), n in totals.items():
        w.writerow(["*", qid, s, n, n_all, c_all])
    return out.getvalue()


# -- the routes -------------------------------------------------------------------------


def mount_pages(app: FastAPI, registry: Registry) -> None:
    STATIC.mkdir(exist_ok=True)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    catalogues = load_catalogues()
    integrity = Integrity()
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )

    def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        lang, explicit = negotiate(request)
        t = Translator(catalogues, lang)
        bundles = bundle_hashes()

        def lang_url(code: str) -> str:
            params = dict(request.query_params)
            params["lang"] = code
            from urllib.parse import urlencode

            return f"{request.url.path}?{urlencode(params)}"

        html = env.get_template(name).render(
            t=t,
            lang=lang,
            langs=LANGS,
            lang_url=lang_url,
            path=request.url.path,
            sri=integrity.of,
            bundle_sri=(bundles.get("booth.js") or {}).get("sri", ""),
            js_catalogue={
                k: v
                for k, v in catalogues[lang].items()
                if k.startswith(SCRIPT_KEYS.get(name, ("error.",)))
            },
            stage_name=lambda s: t("stage." + s.replace(" ", "_")),
            **context,
        )
        response = HTMLResponse(html, status_code=status)
        response.headers["Vary"] = "Accept-Language, Cookie"
        response.headers["Cache-Control"] = "no-store"
        if explicit:
            response.set_cookie(
                LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", path="/", httponly=True
            )
        return response

    def not_found(request: Request, rid: str) -> HTMLResponse:
        return render(request, "error.html", status=404, message_key="error.no_referendum", rid=rid)

    def with_ref(
        fn: Callable[[Request, Referendum], Response],
    ) -> Callable[[Request, str], Response]:
        def page(request: Request, rid: str) -> Response:
            ref = registry.get(rid)
            if ref is None:
                return not_found(request, rid)
            return fn(request, ref)

        return page

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request) -> HTMLResponse:
        refs = [referendum_summary(r) for r in registry.referendums.values()]
        return render(request, "home.html", referendums=refs)

    @app.get("/r/{rid}", response_class=HTMLResponse, include_in_schema=False)
    def referendum_page(request: Request, rid: str) -> Response:
        return with_ref(lambda req, ref: render(req, "referendum.html", r=referendum_details(ref)))(
            request, rid
        )

    @app.get("/r/{rid}/booth", response_class=HTMLResponse, include_in_schema=False)
    def booth_page(request: Request, rid: str) -> Response:
        def page(req: Request, ref: Referendum) -> Response:
            d = referendum_details(ref)
            published = d["booth_published"] or {}
            return render(
                req,
                "booth.html",
                r=d,
                worker_sha256=published.get("worker.js", ""),
                booth_sha256=published.get("booth.js", ""),
            )

        return with_ref(page)(request, rid)

    @app.get("/r/{rid}/track", response_class=HTMLResponse, include_in_schema=False)
    def track_page(request: Request, rid: str, code: str = Query("", max_length=200)) -> Response:
        def page(req: Request, ref: Referendum) -> Response:
            found = None
            clean = code.strip().lower()
            i = ref.org.tracking_codes().get(clean) if clean else None
            if i is not None:
                e = ref.org.entry(i)
                found = {"index": i, "type": e.type, "time": show_time(e.time)}
            return render(
                req,
                "track.html",
                r=referendum_details(ref),
                code=clean,
                found=found,
            )

        return with_ref(page)(request, rid)

    @app.get("/r/{rid}/board", response_class=HTMLResponse, include_in_schema=False)
    def board_page(request: Request, rid: str, start: int | None = Query(None, ge=0)) -> Response:
        def page(req: Request, ref: Referendum) -> Response:
            org = ref.org
            size = org.size
            last_page = max(0, (size - 1) // BOARD_PAGE * BOARD_PAGE)
            first = last_page if start is None else min(start, last_page)
            shown = []
            for i in range(first, min(size, first + BOARD_PAGE)):
                e = org.entry(i).to_json()
                shown.append(
                    {
                        "index": i,
                        "type": e["type"],
                        "time": show_time(e["time"]),
                        "signer": e["signer"],
                        "summary": entry_summary(e),
                        "json": json.dumps(e, indent=1, sort_keys=True, ensure_ascii=False),
                    }
                )
            cps = ref.org.board.checkpoints()
            recent = [
                {**cp.to_json(), "when": show_time(cp.time)}
                for cp in reversed(cps[-CHECKPOINTS_SHOWN:])
            ]
            pages = math.ceil(size / BOARD_PAGE) if size else 1
            return render(
                req,
                "board.html",
                r=referendum_details(ref),
                entries=shown,
                first=first,
                size=size,
                page_size=BOARD_PAGE,
                page_no=first // BOARD_PAGE + 1,
                pages=pages,
                prev_start=max(0, first - BOARD_PAGE) if first > 0 else None,
                next_start=first + BOARD_PAGE if first + BOARD_PAGE < size else None,
                last_start=last_page,
                checkpoints=recent,
                checkpoint_count=len(cps),
            )

        return with_ref(page)(request, rid)

    @app.get("/r/{rid}/results", response_class=HTMLResponse, include_in_schema=False)
    def results_page(request: Request, rid: str) -> Response:
        def page(req: Request, ref: Referendum) -> Response:
            lang, _ = negotiate(req)
            view = results_view(ref, Translator(catalogues, lang))
            return render(req, "results.html", r=referendum_details(ref), res=view)

        return with_ref(page)(request, rid)

    @app.get("/r/{rid}/results.csv", include_in_schema=False)
    def results_download(request: Request, rid: str) -> Response:
        ref = registry.get(rid)
        if ref is None:
            return not_found(request, rid)
        text = results_csv(ref)
        if text is None:
            return PlainTextResponse("no result yet\n", status_code=409)
        return PlainTextResponse(
            text,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="results-{ref.id}.csv"'},
        )

    @app.get("/admin", response_class=HTMLResponse, include_in_schema=False)
    def admin_page(request: Request) -> HTMLResponse:
        refs = [referendum_summary(r) for r in registry.referendums.values()]
        return render(request, "admin.html", referendums=refs)
