"""The web window: server-rendered pages in Simplified Chinese (English switch) for bureau staff.

``router`` holds every HTML page (none of them in the OpenAPI schema). Each module ``yibao.entrypoints.web.pages_*``
defines its own ``router = APIRouter()`` and is included here automatically, so a new page module
needs no edit elsewhere. :func:`install` adds the pages, the static files at ``/static`` and the
handlers for the sign-in redirect and the 403 page to an app.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from yibao.entrypoints.web.render import render
from yibao.entrypoints.web.session import PASSWORD_PAGE, PageRefused, PasswordChangeNeeded, SignInNeeded, login_url

STATIC = Path(__file__).resolve().parent / "static"

router = APIRouter(include_in_schema=False)


def _page_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name.startswith("pages_"))


for _name in _page_modules():
    router.include_router(importlib.import_module(f"{__name__}.{_name}").router, include_in_schema=False)


async def _sign_in_needed(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInNeeded)
    return RedirectResponse(login_url(exc.next_path), status_code=303)


async def _password_first(_request: Request, _exc: Exception) -> Response:
    return RedirectResponse(PASSWORD_PAGE, status_code=303)


async def _refused(request: Request, exc: Exception) -> HTMLResponse:
    assert isinstance(exc, PageRefused)
    return render(request, "403.html.j2", {"permission": exc.permission, "reason": exc.reason}, status_code=403)


def install(app: FastAPI) -> None:
    """Serve the web window from ``app``."""
    app.include_router(router, include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_exception_handler(SignInNeeded, _sign_in_needed)
    app.add_exception_handler(PageRefused, _refused)
    app.add_exception_handler(PasswordChangeNeeded, _password_first)
