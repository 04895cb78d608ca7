"""A malicious server as a voter or an observer meets it: it serves whatever board it
likes (a record folder of the test's making) through the public API's paths, and
whatever booth files it likes, on a free port in a thread of the test process.

Only the read paths the voters' and observers' commands use are served: the referendum
list and info, the record files and the booth files; anything else is a 404.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

RID = "fake"


class FakeServer:
    """``with FakeServer(record, booth={"booth.js": b"..."}) as url:`` serves ``record``
    as referendum ``RID``."""

    def __init__(self, record: Path, booth: dict[str, bytes] | None = None) -> None:
        self.record = Path(record)
        self.booth = dict(booth or {})
        self.requests: list[str] = []
        self._httpd: ThreadingHTTPServer | None = None

    def _routes(self, path: str) -> tuple[int, str, bytes]:
        base = f"/api/referendums/{RID}"
        if path == "/api/referendums":
            return 200, "application/json", json.dumps([{"id": RID}]).encode()
        if path == base:
            first = json.loads((self.record / "entries.jsonl").read_bytes().split(b"\n")[0])
            info: dict[str, Any] = {"id": RID, "election_id": "0" * 64, "manifest": first["data"]}
            return 200, "application/json", json.dumps(info).encode()
        for name in ("entries.jsonl", "checkpoints.jsonl", "cosignatures.jsonl"):
            if path == f"{base}/record/{name}":
                p = self.record / name
                return 200, "text/plain", p.read_bytes() if p.exists() else b""
        if path.startswith("/static/js/") and path[len("/static/js/") :] in self.booth:
            return 200, "text/javascript", self.booth[path[len("/static/js/") :]]
        return 404, "application/json", b'{"detail": "not found"}'

    def __enter__(self) -> str:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the http.server interface)
                path = self.path.split("?")[0]
                server.requests.append(path)
                status, ctype, body = server._routes(path)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:  # noqa: N802
                server.requests.append("POST " + self.path)
                self.send_response(404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "23")
                self.end_headers()
                self.wfile.write(b'{"detail": "not found"}')

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __exit__(self, *exc: Any) -> None:
        assert self._httpd is not None
        self._httpd.shutdown()
        self._httpd.server_close()
