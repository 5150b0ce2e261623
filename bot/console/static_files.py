"""The console's own script and style files, served from the package (no CDN, works offline)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import Response

FOLDER = Path(__file__).resolve().parent / "static"


def add_static_route(api: APIRouter, files: Mapping[str, str]) -> None:
    """``GET /static/{name}`` for exactly ``files`` (name → media type); anything else 404."""

    @api.get("/static/{name}")
    async def static(name: str) -> Response:
        media_type = files.get(name)
        if media_type is None:
            return Response("Not found", status_code=404)
        body = await asyncio.to_thread((FOLDER / name).read_bytes)
        return Response(body, media_type=media_type)
