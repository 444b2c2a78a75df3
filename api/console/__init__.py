"""The reviewer console: server-rendered pages at `/` (Jinja2 + htmx, no build step)."""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Mount the console's routes and static files on the app."""
