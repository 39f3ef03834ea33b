"""The web app: the page, `POST /predict` and `POST /graph`, on Starlette.

Every error a visitor can cause is answered as JSON, ``{"error": message}``, with a 4xx status;
anything else is logged here and answered with a 500 and a one-line message, never a traceback.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from .pictures import MAX_BODY_BYTES, BadPicture, decode_picture
from .predictor import Predictor

__all__ = ["create_app"]

STATIC = Path(__file__).parent / "static"
log = logging.getLogger("tinygrad_digits.serve")


def _starlette() -> Any:
    try:
        import starlette  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            'The web page needs Starlette and uvicorn: pip install "tinygrad-digits[serve]"'
        ) from exc


async def _read_body(request: Any) -> bytes:
    """The request body, refused (413) as soon as it is known to be too large."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise BadPicture(f"the body is over {MAX_BODY_BYTES} bytes", status=413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BadPicture(f"the body is over {MAX_BODY_BYTES} bytes", status=413)
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(predictor: Predictor) -> Any:
    """A Starlette app serving the page for one `Predictor` (run it with uvicorn)."""
    _starlette()
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException
    from starlette.responses import FileResponse, JSONResponse
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    from ..data.exceptions import BlankImageError, DataFormatError

    async def answer(request: Any, work: Any) -> JSONResponse:
        body = await _read_body(request)
        picture = decode_picture(body, request.headers.get("content-type", ""))
        try:
            return JSONResponse(await run_in_threadpool(work, picture))
        except BlankImageError as exc:
            raise BadPicture(str(exc), status=422) from None
        except DataFormatError as exc:
            raise BadPicture(str(exc)) from None

    async def page(request: Any) -> FileResponse:
        return FileResponse(STATIC / "index.html")

    async def info(request: Any) -> JSONResponse:
        return JSONResponse(predictor.info())

    async def predict(request: Any) -> JSONResponse:
        return await answer(request, predictor.predict)

    async def graph(request: Any) -> JSONResponse:
        return await answer(request, predictor.graph)

    async def bad_picture(request: Any, exc: BadPicture) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=exc.status)

    async def http_error(request: Any, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)

    async def crash(request: Any, exc: Exception) -> JSONResponse:
        log.exception("serve: %s %s failed", request.method, request.url.path)
        return JSONResponse({"error": f"internal error ({type(exc).__name__})"}, status_code=500)

    routes = [
        Route("/", page),
        Route("/info", info),
        Route("/predict", predict, methods=["POST"]),
        Route("/graph", graph, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    handlers = {BadPicture: bad_picture, HTTPException: http_error, Exception: crash}
    return Starlette(routes=routes, exception_handlers=handlers)
