"""ASGI entry point for process managers (`uvicorn api.asgi:app --workers N`): settings from KIZUKI_*."""

from __future__ import annotations

from api.app import create_app

app = create_app(warm=True)
