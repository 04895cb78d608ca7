"""Booth encryption time in Chromium: the demo referendum's two-question ballot, per group.

A benchmark, not a timed test: it asserts nothing about speed. It serves the built booth
bundles (``src/plebiscite/server/static/js``, from ``make setup``) on a local HTTP
server, opens a page in headless Debian Chromium through Playwright, and times, per group:

- **worker**: what a voter waits for in the booth. The page starts a fresh Web Worker
  (``static/js/worker.js``, as ``static/app/booth.js`` does for every new set of answers),
  posts the answers, and waits for the ballot, the signed cast submission and the
  challenge submission. This includes starting the worker, parsing the bundle, decoding
  and checking the joint key, building its fixed-base table, the proofs, the tracking
  code and the Ed25519 signature.
- **worker start**: a fresh worker answering an empty request (an error at once):
  starting it and parsing the bundle, without any cryptography.
- **main, first** and **main, then**: ``encryptBallot`` from the page bundle on the
  page's thread: the first call (which decodes the key and builds its table) and the
  median of the next ones (table cached): the pure cost of the cryptography.

The ballot is the demo referendum's region orkney: "status" (yes, no, blank) and
"capital" (three options), 6 encrypted slots and 2 range proofs over them. The joint key
is a fresh random element and the context hash random bytes (the booth's cost does not
depend on them). Each figure is the median of ``--runs`` runs (after one warm-up run of
the worker path); groups run in turn.

    .venv/bin/python bench/bench_booth.py                 # all groups, 9 runs
    .venv/bin/python bench/bench_booth.py --runs 5 --groups ristretto255
    .venv/bin/python bench/bench_booth.py --json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "src" / "plebiscite" / "server" / "static"
DEMO = ROOT / "src" / "plebiscite" / "data" / "demo-referendum.json"
GROUPS = ["ristretto255", "modp-4096", "belenios-2048"]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PAGE = (
    b"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
    b"<title>bench</title></head><body></body></html>"
)

# Runs in the page: returns {worker: [ms], start: [ms], mainFirst: ms, main: [ms]}.
MEASURE = """
async ({group, manifest, runs}) => {
  const B = await import('/js/booth.js');
  const g = B.getGroup(group);
  const keyHex = g.gPow(g.randomScalar()).hex();
  const ctx = new Uint8Array(32); crypto.getRandomValues(ctx);
  const contextHex = B.bytesToHex(ctx);
  const electionId = 'e'.repeat(64);
  const credential = 'ABCDE-FGHJK-LMNPQ-RSTUV-WXYZ2';
  const choices = {status: ['yes'], capital: ['lerwick']};
  const m = {...manifest, group};
  const viaWorker = () => new Promise((resolve, reject) => {
    const t0 = performance.now();
    const w = new Worker('/js/worker.js');
    w.onmessage = (ev) => {
      if (ev.data.type === 'progress') return;
      const t = performance.now() - t0;
      w.terminate();
      if (ev.data.type === 'ballot') resolve(t); else reject(new Error(ev.data.message));
    };
    w.onerror = (ev) => reject(new Error(ev.message));
    w.postMessage({id: 1, manifest: m, group, contextHex, jointKeyHex: keyHex,
                   region: 'orkney', choices, credential, electionId});
  });
  // A worker answering an empty request (an error at once): starting it and parsing the
  // bundle, no cryptography.
  const startOnly = () => new Promise((resolve) => {
    const t0 = performance.now();
    const w = new Worker('/js/worker.js');
    w.onmessage = () => { resolve(performance.now() - t0); w.terminate(); };
    w.postMessage({});
  });
  await viaWorker();  // warm-up: the browser's code cache
  const start = [];
  for (let i = 0; i < runs; i++) start.push(await startOnly());
  const worker = [];
  for (let i = 0; i < runs; i++) worker.push(await viaWorker());
  const pub = B.publicCredential(electionId, credential);
  let t0 = performance.now();
  B.encryptBallot(group, m, contextHex, keyHex, 'orkney', choices, pub);
  const mainFirst = performance.now() - t0;
  const main = [];
  for (let i = 0; i < runs; i++) {
    t0 = performance.now();
    B.encryptBallot(group, m, contextHex, keyHex, 'orkney', choices, pub);
    main.push(performance.now() - t0);
  }
  return {worker, start, mainFirst, main};
}
"""


class Handler(SimpleHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.path in ("/", "/index.html"):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(PAGE)))
            self.end_headers()
            self.wfile.write(PAGE)
            return
        super().do_GET()

    def log_message(self, *args: Any) -> None:
        pass


def machine() -> dict[str, str]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        commit = ""
    hashes = json.loads((STATIC / "js" / "bundle-hashes.json").read_text())

    def bundle(name: str) -> str:
        return f"{hashes[name]['bytes']} bytes, sha256 {hashes[name]['sha256'][:12]}"

    return {
        "cpu": f"{cpu} ({os.cpu_count()} cores)",
        "os": f"{platform.system()} {platform.release()}",
        "commit": commit,
        "booth.js": bundle("booth.js"),
        "worker.js": bundle("worker.js"),
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=9, help="runs per figure (median)")
    ap.add_argument("--groups", default=",".join(GROUPS), help="comma-separated groups")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()
    groups = [g for g in args.groups.split(",") if g]
    if not (STATIC / "js" / "worker.js").exists():
        print("the booth bundles are missing: run `make setup` first", file=sys.stderr)
        return 2
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: apt-get install -y chromium", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    manifest = json.loads(DEMO.read_text())
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(STATIC)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    info = machine()
    results: dict[str, Any] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        info["chromium"] = browser.version
        page = browser.new_page()
        page.set_default_timeout(600_000)
        page.goto(url)
        for group in groups:
            print(f"{group}…", file=sys.stderr)
            r = page.evaluate(MEASURE, {"group": group, "manifest": manifest, "runs": args.runs})
            results[group] = {
                "worker_ms": statistics.median(r["worker"]),
                "worker_min_ms": min(r["worker"]),
                "worker_max_ms": max(r["worker"]),
                "worker_start_ms": statistics.median(r["start"]),
                "main_first_ms": r["mainFirst"],
                "main_ms": statistics.median(r["main"]),
                "runs": args.runs,
            }
        browser.close()
    server.shutdown()
    info["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    if args.json:
        print(json.dumps({"machine": info, "results": results}, indent=1))
        return 0
    for k, v in info.items():
        print(f"{k:>10}: {v}")
    print()
    print(
        "| group | worker: answers to tracking code (median, min–max) "
        "| of which worker start | main thread, first | main thread, then |"
    )
    print("|---|---:|---:|---:|---:|")
    for g, r in results.items():
        print(
            f"| {g} | {r['worker_ms']:.0f} ms ({r['worker_min_ms']:.0f}–{r['worker_max_ms']:.0f}) "
            f"| {r['worker_start_ms']:.0f} ms "
            f"| {r['main_first_ms']:.0f} ms | {r['main_ms']:.0f} ms |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
