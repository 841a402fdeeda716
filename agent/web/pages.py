"""The console's pages: each route builds its page's record (board.py, device_page.py,
alert_list.py, lifecycle_page.py) off the event loop, in a worker thread, and renders it
with jinja2 (autoescaping: a device's text is shown as text, never run as markup). The
forms (login, ack, silence, unsilence) post here and come back to the page they came
from (post-redirect-get)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any, TypeVar
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from agent.web import actions
from agent.web.alert_list import Filters, build_alerts_page
from agent.web.alert_rows import read_rows
from agent.web.availability import watched_text
from agent.web.board import build_board
from agent.web.device_page import build_device_page
from agent.web.handling import change, query_number, view_of
from agent.web.lifecycle_page import (
    DOWNLOADS,
    MAX_MONTHS,
    due_within,
    plan_file,
    plan_for,
    plan_report,
)
from agent.web.sessions import COOKIE as SESSION_COOKIE
from agent.web.words import LANGS, hours_text, rule_description, say
from alerts.evaluation.open_store import AlertStoreUnavailableError
from alerts.evaluation.store_api import AlertStore
from config.durations import format_duration
from inventory.plan_export import BLOCK_HEADERS, block_cells, funding_rows
from inventory.plan_table import TEXT as PLAN_TEXT
from inventory.plan_table import block_title, quantity_label, reason_text, thousand

T = TypeVar("T")
_ENV = Environment(loader=FileSystemLoader(str(__import__("pathlib").Path(__file__).parent
                                               / "templates")),
                   autoescape=select_autoescape(default=True, default_for_string=True),
                   trim_blocks=True, lstrip_blocks=True)
_ENV.globals.update(rule_description=rule_description, block_cells=block_cells,
                    funding_rows=funding_rows, block_title=block_title,
                    quantity_label=quantity_label, reason_text=reason_text, thousand=thousand,
                    BLOCK_HEADERS=BLOCK_HEADERS, PLAN_TEXT=PLAN_TEXT, LANGS=LANGS,
                    hours_text=hours_text)


def _when(value: datetime | None, zone: Any = None) -> str:
    if value is None:
        return "-"
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if zone else \
        value.strftime("%Y-%m-%d %H:%M:%S")


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    lang: str = request.state.lang
    view = view_of(request)
    config = view.config()
    html = _ENV.get_template(template).render(
        lang=lang, t=partial(say, lang=lang), viewer=request.state.viewer,
        csrf=request.state.csrf, path=request.url.path,
        here=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        agent_name=config.agent.name, refresh=config.console.refresh_seconds,
        when=partial(_when, zone=config.agent.zone),
        epoch=lambda t: _when(datetime.fromtimestamp(t, config.agent.zone)),
        watched=partial(watched_text, lang=lang),
        duration=lambda seconds: format_duration(round(seconds)), **context)
    return HTMLResponse(html, status_code=status_code)


async def _off_loop(work: Callable[[], T]) -> T:
    return await run_in_threadpool(work)


def _local(target: str | None, fallback: str) -> str:
    """`target` if it is a path of this site (never another site's, even written as
    `//host` or `/\\host`, which browsers take as one); else `fallback`."""
    if target and target.startswith("/") and not target.startswith("//") \
            and "\\" not in target:
        return target
    return fallback


def _back(request: Request, fallback: str, notice: str | None = None) -> Response:
    """303 to the page the form came from (a path of ours only, never another site)."""
    target = _local(request.query_params.get("next"), fallback)
    if notice:
        target += ("&" if "?" in target else "?") + "notice=" + quote(notice[:300])
    return RedirectResponse(target, status_code=303)


# ---- board, device, alerts, lifecycle ------------------------------------------------

async def board(request: Request) -> Response:
    view = view_of(request)

    def build() -> Any:
        config, now = view.config(), view.clock()
        with view.alert_store() as store:
            rows = read_rows(config, store, now)
        return build_board(config, view.status(), rows, now)
    return render(request, "board.html", board=await _off_loop(build))


async def device(request: Request) -> Response:
    view = view_of(request)
    device_id = request.path_params["device_id"]

    def build() -> Any:
        config, now = view.config(), view.clock()
        found = next((d for d in config.devices if d.id == device_id), None)
        if found is None:
            return None
        with view.alert_store() as store:
            rows = read_rows(config, store, now)
            return build_device_page(config, found, view.status(), rows, store, now)
    page = await _off_loop(build)
    if page is None:
        raise HTTPException(404)
    return render(request, "device.html", page=page, notice=request.query_params.get("notice"))


async def alerts(request: Request) -> Response:
    view = view_of(request)
    filters = Filters.of(request.query_params)

    def build() -> Any:
        config, now = view.config(), view.clock()
        with view.alert_store() as store:
            rows = read_rows(config, store, now)
            return build_alerts_page(config, view.status(), rows, store, filters, now)
    return render(request, "alerts.html", page=await _off_loop(build),
                  notice=request.query_params.get("notice"))


async def lifecycle(request: Request) -> Response:
    view = view_of(request)
    config, now = view.config(), view.clock()
    months = query_number(request, "months", config.alerts.lifecycle_horizon_months, 0,
                          MAX_MONTHS)
    year = query_number(request, "year", now.year + 1, 1950, 2100)

    def build() -> Any:
        plan = plan_for(config, year, now)
        return due_within(config, months, now.date()), plan, plan_report(plan)
    due, plan, whole = await _off_loop(build)
    return render(request, "lifecycle.html", due=due, plan=plan, report=whole, year=year,
                  downloads=tuple(DOWNLOADS), categories=config.categories)


async def plan_download(request: Request) -> Response:
    view = view_of(request)
    year, fmt = request.path_params["year"], request.path_params["fmt"]
    if fmt not in DOWNLOADS or not 1950 <= year <= 2100:
        raise HTTPException(404)
    config, now = view.config(), view.clock()
    lang = request.state.lang
    data = await _off_loop(lambda: plan_file(plan_for(config, year, now), fmt, lang))
    return Response(data, media_type=DOWNLOADS[fmt], headers={
        "Content-Disposition": f'attachment; filename="plan-{year}-{lang}.{fmt}"'})


async def error_page(request: Request, exc: Exception) -> Response:
    """An HTTPException (404, 400, 403) or an alert store that cannot be used (503), as
    a page, or as `{"error": ...}` under /api/ (English, as the API's keys)."""
    if isinstance(exc, AlertStoreUnavailableError):
        code, detail, english = 503, exc.said(getattr(request.state, "lang", "en")), str(exc)
    else:
        code = exc.status_code if isinstance(exc, HTTPException) else 404
        detail = english = str(exc.detail if isinstance(exc, HTTPException) else "not found")
    if not hasattr(request.state, "viewer") or request.url.path.startswith("/api/"):
        from starlette.responses import JSONResponse
        return JSONResponse({"error": english}, status_code=code)
    return render(request, "error.html", status_code=code, message=detail)


# ---- language, login -------------------------------------------------------------------

async def language(request: Request) -> Response:
    code = request.path_params["code"]
    response = _back(request, "/")
    if code in LANGS:
        response.set_cookie("ll_lang", code, max_age=365 * 86400, samesite="strict",
                            httponly=True, path="/")
    return response


async def login_form(request: Request) -> Response:
    return render(request, "login.html", error=None, next=request.query_params.get("next", "/"))


async def login(request: Request) -> Response:
    console = request.app.state.console
    form = await request.form()
    address = request.client.host if request.client else "?"
    users = console.access.users
    nxt = str(form.get("next") or "/")
    wait = console.limiter.attempt(address)     # counted now: see limiter.py
    if wait:
        response = render(request, "login.html", status_code=429, next=nxt,
                          error="too many attempts: try again later")
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    name, password = str(form.get("user") or ""), str(form.get("password") or "")
    good = users is not None and await _off_loop(lambda: users.check(name, password))
    if not good:
        return render(request, "login.html", status_code=401, next=nxt, error="login refused")
    console.limiter.succeeded(address)
    token = console.access.sessions.start(name)
    response = RedirectResponse(_local(nxt, "/"), status_code=303)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict",
                        secure=console.secure_cookies, path="/",
                        max_age=int(console.access.settings.session_seconds))
    return response


async def logout(request: Request) -> Response:
    request.app.state.console.access.sessions.end(request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# ---- changes --------------------------------------------------------------------------

async def _change(request: Request, fallback: str,
                  work: Callable[[AlertStore, str, datetime], str]) -> Response:
    """Runs the change (handling.change), then back to the page with what it did."""
    try:
        notice = await change(request, work)
    except actions.ActionError as exc:      # its detail stays as the commands say it
        notice = f"! {say('refused', request.state.lang)}: {exc}"
    return _back(request, fallback, notice)


async def ack(request: Request) -> Response:
    form = await request.form()
    alert_id, comment = str(form.get("id") or ""), str(form.get("comment") or "")

    def work(store: AlertStore, user: str, now: datetime) -> str:
        done = actions.ack(store, alert_id, user, comment, now)
        return f"{say('acknowledged', request.state.lang)}: {done.device_id} · {done.rule}"
    return await _change(request, "/alerts", work)


async def silence(request: Request) -> Response:
    form = await request.form()
    matchers = str(form.get("matchers") or "").splitlines()
    duration, reason = str(form.get("duration") or ""), str(form.get("reason") or "")

    def work(store: AlertStore, user: str, now: datetime) -> str:
        record = actions.silence(store, matchers, duration, reason, user, now)
        return f"{say('silence set', request.state.lang)} {record.id}: {' '.join(record.matchers)}"
    return await _change(request, "/alerts", work)


async def unsilence(request: Request) -> Response:
    silence_id = request.path_params["silence_id"]

    def work(store: AlertStore, user: str, now: datetime) -> str:
        actions.unsilence(store, silence_id, now)
        return f"{say('silence lifted', request.state.lang)}: {silence_id}"
    return await _change(request, "/alerts", work)
