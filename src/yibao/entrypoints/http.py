"""The FastAPI application: registry, settlement service, national interface."""

import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline

from yibao import __version__
from yibao.app.auth import NotPermitted, SignInLocked
from yibao.app.schedule import MonthlyMonitoring
from yibao.core.errors import InputError, InputErrors, NotFound, error_body
from yibao.core.settings import Settings
from yibao.entrypoints import web
from yibao.entrypoints.api import (
    assistance_routes,
    audit_rule_routes,
    backpay_routes,
    budget_routes,
    capitation_routes,
    conflict_routes,
    enrolment_routes,
    institution_routes,
    national_routes,
    reconcile_routes,
    registry_routes,
    report_routes,
    service_routes,
    slip_routes,
    suspects,
    warning_routes,
)
from yibao.entrypoints.common.headers import DOCS_ASSETS, SecurityHeaders
from yibao.entrypoints.common.security import forbidden_body
from yibao.policy.in_force import configured_pack
from yibao.policy.pack import PolicyPack
from yibao.store.db import Database

WORKER_HEADER_ENV = "YIBAO_WORKER_HEADER"
"""``1``: every answer names the server process that gave it (``X-Yibao-Worker``), for tests of several workers."""


class WorkerPid:
    """Adds ``X-Yibao-Worker: <pid>`` to every answer (only when :data:`WORKER_HEADER_ENV` is ``1``)."""

    def __init__(self, app: Any) -> None:
        self.app, self.pid = app, str(os.getpid()).encode()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def named(message: Any) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-yibao-worker", self.pid))
            await send(message)

        await self.app(scope, receive, named if scope["type"] == "http" else send)


def _monthly(db: Database, pack: PolicyPack) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        scheduler = MonthlyMonitoring(db, pack)
        scheduler.start()
        try:
            yield
        finally:
            scheduler.stop()

    return lifespan


def app_from_settings() -> FastAPI:
    """The service as configured (:class:`yibao.core.settings.Settings`: database, pack, schedule).

    ``yibao serve`` runs it by its import string (``yibao.entrypoints.http:app_from_settings``, a factory).
    """
    settings = Settings.from_env()
    db = Database.open(settings.database_url)
    return create_app(db, configured_pack(settings.policy), schedule=settings.schedule, settings=settings)


def create_app(
    db: Database, pack: PolicyPack | None = None, *, schedule: bool = False, settings: Settings | None = None
) -> FastAPI:
    """The service; ``schedule`` runs the monthly monitoring in the background while it serves; ``settings``
    (else the environment's) say how sign-in is throttled and when the session cookie is ``Secure``."""
    pack = pack or configured_pack()
    app = FastAPIOffline(  # /docs and /redoc with their scripts served from here (DOCS_ASSETS), no CDN: they work offline
        static_url=DOCS_ASSETS,
        lifespan=_monthly(db, pack) if schedule else None,
        title="yibao 医保",
        version=__version__,
        description="一站式结算、参保与身份、监测预警 / one-stop settlement, registry, monitoring. 金额单位：分 (fen).",
    )
    app.state.db = db
    app.state.pack = pack
    app.state.settings = settings or Settings.from_env()
    app.add_middleware(SecurityHeaders)
    if os.environ.get(WORKER_HEADER_ENV) == "1":
        app.add_middleware(WorkerPid)

    @app.exception_handler(InputError)
    async def _input_error(_request: Request, exc: InputError) -> JSONResponse:
        return JSONResponse(status_code=404 if isinstance(exc, NotFound) else 422, content=error_body(exc))

    @app.exception_handler(NotPermitted)
    async def _not_permitted(_request: Request, exc: NotPermitted) -> JSONResponse:
        return JSONResponse(status_code=403, content={"detail": forbidden_body(exc.permission, exc.role)})  # as HTTPException

    @app.exception_handler(SignInLocked)
    async def _locked(_request: Request, exc: SignInLocked) -> JSONResponse:
        body = {
            "field": "username" if exc.scope == "account" else "address",
            "message": exc.message("zh"),
            "message_en": exc.message("en"),
            "retry_after": exc.seconds,
        }
        return JSONResponse(status_code=429, content=body, headers={"Retry-After": str(exc.seconds)})

    @app.exception_handler(InputErrors)
    async def _input_errors(_request: Request, exc: InputErrors) -> JSONResponse:
        errors = [error_body(e) for e in exc.errors]
        return JSONResponse(status_code=422, content={"errors": errors, **errors[0]})

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for e in exc.errors():
            loc = ".".join(str(p) for p in e["loc"] if p not in ("body", "query", "path", "header"))
            errors.append(error_body(InputError("request", loc or "body", e.get("input"), str(e["msg"]))))
        return JSONResponse(status_code=422, content={"errors": errors, **(errors[0] if errors else {})})

    @app.get("/api/health", tags=["service"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    app.include_router(registry_routes.router)
    app.include_router(conflict_routes.router)
    app.include_router(enrolment_routes.router)
    app.include_router(service_routes.router)
    app.include_router(assistance_routes.router)
    app.include_router(backpay_routes.router)
    app.include_router(national_routes.router)
    app.include_router(reconcile_routes.router)
    app.include_router(slip_routes.router)
    app.include_router(warning_routes.router)
    app.include_router(report_routes.router)
    app.include_router(budget_routes.router)
    app.include_router(capitation_routes.router)
    app.include_router(suspects.router)
    app.include_router(institution_routes.router)
    app.include_router(audit_rule_routes.router)
    web.install(app)  # the web window: HTML pages (not in the OpenAPI schema), /static
    return app
