"""Security headers on every answer: the content security policy, no framing, no MIME sniffing, no referrer
to other sites.

The window's pages run only scripts served from ``/static`` and the fixed inline scripts of the templates
(allowed by their SHA-256, :func:`inline_script_hashes`; a template's script that Jinja fills in would
change per page and cannot be allowed so: such code belongs in ``/static``). Styles may be inline: the
reports' charts are matplotlib SVG drawn with ``style`` attributes, and the slip and the report files keep
their style sheet inside so that they stand alone when saved. The API documentation pages (``/docs``,
``/redoc``) run Swagger UI and ReDoc from this server (``fastapi-offline`` ships their files, served under
:data:`DOCS_ASSETS`; nothing from a CDN, so they work without the internet) with their inline start-up script.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from starlette.types import ASGIApp, Message, Receive, Scope, Send

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def inline_script_hashes(folder: Path = TEMPLATES) -> list[str]:
    """The CSP source of each fixed inline ``<script>`` in the templates (``'sha256-…'``), sorted."""
    found = set()
    for path in sorted(folder.rglob("*.j2")):
        for body in INLINE_SCRIPT.findall(path.read_text(encoding="utf-8")):
            if "{{" in body or "{%" in body:
                raise ValueError(f"{path.name}: an inline script filled in by the template; move it to /static")
            digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
            found.add(f"'sha256-{digest}'")
    return sorted(found)


def window_policy() -> str:
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self' " + " ".join(inline_script_hashes()),
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


DOCS_ASSETS = "/docs/assets"
"""Where Swagger UI's and ReDoc's files are served (from the ``fastapi-offline`` package)."""
DOCS_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "font-src 'self'",
        "img-src 'self' data:",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)
DOCS_PATHS = ("/docs", "/redoc")


def _headers(policy: str) -> list[tuple[bytes, bytes]]:
    named = {
        "Content-Security-Policy": policy,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }
    return [(name.lower().encode(), value.encode()) for name, value in named.items()]


class SecurityHeaders:
    """ASGI middleware: the security headers on every HTTP answer (an answer's own headers win)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.window, self.docs = _headers(window_policy()), _headers(DOCS_POLICY)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        extra = self.docs if path.startswith(DOCS_PATHS) else self.window

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend((name, value) for name, value in extra if name not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
