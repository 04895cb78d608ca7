"""The HTML pages (home, referendum, booth, tracking, board, results, admin)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from plebiscite.server.registry import Registry

STATIC = Path(__file__).parent / "static"


def mount_pages(app: FastAPI, registry: Registry) -> None:
    STATIC.mkdir(exist_ok=True)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
