"""The console's ASGI app: the routes of pages.py and api.py, /healthz and /metrics,
the static files, and one middleware in front of all of them that asks access.py who is
asking, hands out the CSRF cookie, picks the language and sets the security headers.
Every POST route goes through `csrf_protected`: a POST without the right token does
nothing (403)."""
from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from agent.endpoint import CONTENT_TYPE, AgentMetrics, health
from agent.web import api, csrf, pages
from agent.web.access import Access, Refused
from agent.web.limiter import LoginLimiter
from agent.web.sessions import Sessions
from agent.web.source import AgentView
from agent.web.users import Users
from agent.web.words import pick_lang
from alerts.evaluation.open_store import AlertStoreUnavailableError

HERE = Path(__file__).parent
LANG_COOKIE = "ll_lang"
# Everything from this origin only: no inline script, nothing from a CDN.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                               "style-src 'self'; script-src 'self'; object-src 'none'; "
                               "base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


@dataclass(frozen=True, slots=True)
class Console:
    """What the routes share (`request.app.state.console`)."""

    view: AgentView
    access: Access
    limiter: LoginLimiter
    metrics: AgentMetrics
    secure_cookies: bool


Handler = Callable[[Request], Awaitable[Response]]


def csrf_protected(handler: Handler) -> Handler:
    async def checked(request: Request) -> Response:
        sent = request.headers.get(csrf.HEADER)
        if sent is None and "form" in request.headers.get("content-type", ""):
            sent = str((await request.form()).get(csrf.FIELD) or "") or None
        if not csrf.valid(request.cookies.get(csrf.COOKIE), sent):
            return PlainTextResponse("refused: the form's CSRF token is missing or wrong "
                                     "(reload the page and try again)\n", status_code=403)
        return await handler(request)
    return checked


class Gate(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        console: Console = request.app.state.console
        token = request.cookies.get(csrf.COOKIE)
        request.state.csrf = token or csrf.new_token()
        request.state.lang = pick_lang(request.query_params.get("lang")
                                       or request.cookies.get(LANG_COOKIE))
        found = console.access.viewer(request)
        if isinstance(found, Refused):
            response = _refused(request, found)
        else:
            request.state.viewer = found
            response = await call_next(request)
        if token is None:
            response.set_cookie(csrf.COOKIE, request.state.csrf, httponly=True,
                                samesite="strict", secure=console.secure_cookies, path="/")
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response


def _refused(request: Request, refused: Refused) -> Response:
    if refused.status == 401 and not request.url.path.startswith(("/api/", "/metrics")):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
    return JSONResponse({"error": refused.reason}, status_code=refused.status)


async def healthz(request: Request) -> Response:
    view: AgentView = request.app.state.console.view
    healthy, body = health(view.status(), view.stopping(), time.time())
    return JSONResponse(body, status_code=200 if healthy else 503)


async def metrics(request: Request) -> Response:
    console: Console = request.app.state.console
    return Response(console.metrics.render(), media_type=CONTENT_TYPE)


def build_app(console: Console) -> Starlette:
    post = csrf_protected
    routes = [
        Route("/healthz", healthz), Route("/metrics", metrics),
        Route("/", pages.board), Route("/devices/{device_id:str}", pages.device),
        Route("/alerts", pages.alerts), Route("/lifecycle", pages.lifecycle),
        Route("/plan/{year:int}.{fmt:str}", pages.plan_download),
        Route("/lang/{code:str}", pages.language),
        Route("/login", pages.login_form), Route("/login", post(pages.login), methods=["POST"]),
        Route("/logout", post(pages.logout), methods=["POST"]),
        Route("/alerts/ack", post(pages.ack), methods=["POST"]),
        Route("/silences", post(pages.silence), methods=["POST"]),
        Route("/silences/{silence_id:str}/remove", post(pages.unsilence), methods=["POST"]),
        *api.routes(post),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(Gate)],
                    exception_handlers={400: pages.error_page, 403: pages.error_page,
                                        404: pages.error_page,
                                        AlertStoreUnavailableError: pages.error_page})
    app.state.console = console
    return app


def build_console(view: AgentView, version: str) -> Console:
    """The console for `view`'s configuration. Raises UsersFileError for a users file
    that cannot be read."""
    settings = view.config().console
    users = Users(settings.users_file) if settings.users_file is not None else None
    return Console(view=view, access=Access(settings, users, Sessions(settings.session_seconds)),
                   limiter=LoginLimiter(settings.login_attempts, settings.login_window_seconds),
                   metrics=AgentMetrics(view.status, view.alerts_db, version),
                   secure_cookies=settings.tls or settings.https_proxy)
