"""The JSON API under /api/v1/: everything the pages show, in stable English keys and
codes (times ISO 8601 with their offset), with the person-facing words of `?lang=` in
`text` fields where a page shows words. docs/console.md is its reference.

    GET  /api/v1/board                  what the board shows (the board's script reads it)
    GET  /api/v1/devices                every device with its last poll
    GET  /api/v1/devices/{id}           one device's page
    GET  /api/v1/alerts                 firing and pending (filters as the page's), silences
    GET  /api/v1/acks                   the acknowledgements of the current episodes
    GET  /api/v1/silences               silences in force
    GET  /api/v1/history                outages with availability over the time watched
    GET  /api/v1/lifecycle?months=N     what passes its service life or support within N
    GET  /api/v1/plan?year=Y            the replacement plan (the json export)
    POST /api/v1/alerts/{id}/ack        {"comment"}                        X-CSRF-Token
    POST /api/v1/silences               {"matchers", "duration", "reason"} X-CSRF-Token
    POST /api/v1/silences/{id}/remove                                      X-CSRF-Token
"""
from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agent.web import actions
from agent.web.alert_list import Filters, build_alerts_page
from agent.web.alert_rows import AlertRow, read_rows
from agent.web.availability import Availability, watched_text
from agent.web.board import Board, Problem, SiteSummary
from agent.web.board import build_board as board_of
from agent.web.device_page import DevicePage, build_device_page, target_of
from agent.web.handling import change, may_change, query_number, view_of
from agent.web.lifecycle_page import MAX_MONTHS, due_within, plan_file, plan_for
from agent.web.source import AgentView
from agent.web.words import hours_text, rule_description, say
from alerts.evaluation.store_api import AlertStore

Handler = Callable[[Request], Any]


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def alert_json(row: AlertRow, lang: str) -> dict[str, object]:
    return {"id": row.id, "rule": row.rule, "kind": row.kind, "severity": row.severity,
            "state": row.state, "device_id": row.device_id, "instance": row.instance,
            "summary": row.summary, "summary_ko": row.summary_ko, "since": _iso(row.since),
            "suppressed": row.suppressed, "silenced": row.silenced, "acked": row.acked,
            "acked_by": row.acked_by, "ack_comment": row.ack_comment,
            "flapping": row.flapping, "site_closed": row.closed, "polls": row.polls,
            "text": {"severity": say(row.severity, lang), "state": say(row.state, lang),
                     "summary": row.summary_ko if lang == "ko" and row.summary_ko
                     else row.summary, "description": rule_description(row.rule, lang)}}


def _problem(p: Problem, lang: str) -> dict[str, object]:
    return {"alert": alert_json(p.alert, lang), "device_name": p.device_name, "site": p.site,
            "category": p.category, "behind": list(p.behind)}


def _site(s: SiteSummary, lang: str) -> dict[str, object]:
    return {"name": s.name, "devices": s.devices, "up": s.up, "down": s.down,
            "unpolled": s.unpolled, "tracked": s.tracked, "problems": s.problems,
            "kiosks": [{"device_id": k.device_id, "name": k.name, "hours": k.hours,
                        "hours_text": hours_text(k.hours, lang), "open": k.open, "up": k.up}
                       for k in s.kiosks]}


def board_json(board: Board, lang: str) -> dict[str, object]:
    return {"at": _iso(board.at), "status_at": _iso(board.status_at),
            "running": board.running, "suppressed": board.suppressed,
            "problems": [_problem(p, lang) for p in board.problems],
            "lifecycle": [_problem(p, lang) for p in board.lifecycle],
            "sites": [_site(s, lang) for s in board.sites]}


def _availability(value: Availability | None, lang: str) -> dict[str, object] | None:
    if value is None:
        return None
    return {"percent": round(value.percent, 3), "since": _iso(value.since),
            "watched_seconds": round(value.seconds), "down_seconds": round(value.down_seconds),
            "text": watched_text(value, lang)}


def device_json(page: DevicePage, lang: str) -> dict[str, object]:
    d, life = page.device, page.lifecycle
    return {
        "id": d.id, "name": d.name, "category": d.category, "vendor": d.vendor,
        "model": d.model, "serial": d.serial, "site": d.site, "location": d.location,
        "criticality": d.criticality.value, "parent": d.parent,
        "operating_hours": d.operating_hours, "protocol": d.poll.protocol if d.poll else None,
        "target": page.target,
        "poll": page.poll.as_json() if page.poll else None,
        "identity": [{"field": i.field, "inventory": i.inventory, "device": i.device,
                      "drift": i.drift} for i in page.identity],
        "polls": [{"at": _iso(p.at), "result": p.result, "up": p.up, "duration": p.duration}
                  for p in page.polls],
        "alerts": [alert_json(a, lang) for a in page.alerts],
        "outages": [{"started": o.started, "ended": o.ended} for o in page.outages],
        "availability": _availability(page.availability, lang),
        "lifecycle": {"acquired": _iso(d.acquired), "life_ends": _iso(life.life_ends),
                      "status": life.status.value, "support_ends": _iso(life.support_ends),
                      "support": life.support.value,
                      "contracts": [{"kind": c.kind, "ends": _iso(c.ends),
                                     "status": c.status.value} for c in life.contracts]},
        "charts": [{"title": c.title, "series": [{"label": s.label, "points": s.points}
                                                 for s in c.series]} for c in page.charts],
        "grafana": page.grafana}


def _json(data: object, status_code: int = 200) -> Response:
    return JSONResponse(data, status_code=status_code)


Build = Callable[[AgentView, Sequence[AlertRow], AlertStore | None], object]


async def _read(request: Request, build: Build) -> Response:
    view = view_of(request)

    def run() -> object:
        config, now = view.config(), view.clock()
        with view.alert_store() as store:
            return build(view, read_rows(config, store, now), store)
    return _json(await run_in_threadpool(run))


async def board(request: Request) -> Response:
    lang = request.state.lang
    return await _read(request, lambda v, rows, _: board_json(
        board_of(v.config(), v.status(), rows, v.clock()), lang))


async def devices(request: Request) -> Response:
    view = view_of(request)
    status = view.status()
    polls = status.devices if status else {}
    return _json({"devices": [
        {"id": d.id, "name": d.name, "category": d.category, "site": d.site,
         "protocol": d.poll.protocol if d.poll else None, "target": target_of(d),
         "up": polls[d.id].up if d.id in polls else None,
         "last_result": polls[d.id].last_result if d.id in polls else None}
        for d in view.config().devices]})


async def device(request: Request) -> Response:
    device_id, lang = request.path_params["device_id"], request.state.lang

    def build(v: AgentView, rows: Sequence[AlertRow], store: AlertStore | None) -> object:
        found = next((d for d in v.config().devices if d.id == device_id), None)
        if found is None:
            return None
        return device_json(build_device_page(v.config(), found, v.status(), rows, store,
                                             v.clock()), lang)
    response = await _read(request, build)
    if response.body == b"null":
        return _json({"error": f"unknown device {device_id[:80]!r}"}, 404)
    return response


def _silence_json(s: Any) -> dict[str, object]:
    return asdict(s) | {"matchers": list(s.matchers)}


async def alerts(request: Request) -> Response:
    lang, filters = request.state.lang, Filters.of(request.query_params)

    def build(v: AgentView, rows: Sequence[AlertRow], store: AlertStore | None) -> object:
        page = build_alerts_page(v.config(), v.status(), rows, store, filters, v.clock())
        return {"alerts": [alert_json(r, lang) for r in page.rows],
                "silences": [_silence_json(s) for s in page.silences]}
    return await _read(request, build)


async def acks(request: Request) -> Response:
    return await _read(request, lambda v, rows, store: {"acks": [
        asdict(a) for a in (store.acks().values() if store else ())]})


async def silences(request: Request) -> Response:
    return await _read(request, lambda v, rows, store: {"silences": [
        _silence_json(s) for s in (store.silences(v.clock().timestamp()) if store else ())]})


async def history(request: Request) -> Response:
    lang = request.state.lang

    def build(v: AgentView, rows: Sequence[AlertRow], store: AlertStore | None) -> object:
        page = build_alerts_page(v.config(), v.status(), rows, store, Filters(), v.clock())
        return {"watched_since": _iso(page.watched_from), "days": page.days, "devices": [
            {"device_id": h.device_id, "availability": _availability(h.availability, lang),
             "outages": [{"started": o.started, "ended": o.ended} for o in h.outages]}
            for h in page.history]}
    return await _read(request, build)


async def lifecycle(request: Request) -> Response:
    view = view_of(request)
    config, now = view.config(), view.clock()
    months = query_number(request, "months", config.alerts.lifecycle_horizon_months, 0,
                          MAX_MONTHS)
    page = await run_in_threadpool(due_within, config, months, now.date())
    return _json({"months": page.months, "until": _iso(page.until), "devices": [
        {"id": line.device.id, "name": line.device.name, "category": line.device.category,
         "site": line.device.site, "first_end": _iso(line.first_end),
         "life_ends": _iso(line.lifecycle.life_ends), "status": line.lifecycle.status.value,
         "support_ends": _iso(line.lifecycle.support_ends),
         "support": line.lifecycle.support.value} for line in page.lines]})


async def plan(request: Request) -> Response:
    view = view_of(request)
    config, now = view.config(), view.clock()
    year = query_number(request, "year", now.year + 1, 1950, 2100)
    lang = request.state.lang
    data = await run_in_threadpool(lambda: plan_file(plan_for(config, year, now), "json", lang))
    return Response(data, media_type="application/json")


# ---- changes ---------------------------------------------------------------------------

Work = Callable[[AlertStore, str, datetime, dict[str, Any]], object]


async def _change(request: Request, work: Work) -> Response:
    """The JSON body, then the change (handling.change); its answer as JSON, 400 for a
    request that cannot be done as asked."""
    may_change(request)                 # 403 before the body is even read
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        return _json({"error": "the body is not JSON"}, 400)
    if not isinstance(body, dict):
        return _json({"error": "the body must be a JSON object"}, 400)
    try:
        return _json(await change(request, lambda store, user, now: work(store, user, now,
                                                                          body)))
    except actions.ActionError as exc:
        return _json({"error": str(exc)}, 400)


async def ack(request: Request) -> Response:
    alert_id = request.path_params["alert_id"]
    return await _change(request, lambda store, user, now, body: asdict(actions.ack(
        store, alert_id, user, str(body.get("comment") or ""), now)))


async def add_silence(request: Request) -> Response:
    def work(store: AlertStore, user: str, now: datetime, body: dict[str, Any]) -> object:
        matchers = body.get("matchers") or []
        if not isinstance(matchers, list):
            raise actions.ActionError("matchers: a list of label=value strings")
        return _silence_json(actions.silence(store, [str(m) for m in matchers],
                                             str(body.get("duration") or ""),
                                             str(body.get("reason") or ""), user, now))
    return await _change(request, work)


async def remove_silence(request: Request) -> Response:
    silence_id = request.path_params["silence_id"]

    def work(store: AlertStore, user: str, now: datetime, body: dict[str, Any]) -> object:
        actions.unsilence(store, silence_id, now)
        return {"removed": silence_id}
    return await _change(request, work)


def routes(post: Callable[[Handler], Handler]) -> list[Route]:
    base = "/api/v1"
    return [Route(f"{base}/board", board), Route(f"{base}/devices", devices),
            Route(f"{base}/devices/{{device_id:str}}", device), Route(f"{base}/alerts", alerts),
            Route(f"{base}/acks", acks), Route(f"{base}/silences", silences),
            Route(f"{base}/history", history), Route(f"{base}/lifecycle", lifecycle),
            Route(f"{base}/plan", plan),
            Route(f"{base}/alerts/{{alert_id:str}}/ack", post(ack), methods=["POST"]),
            Route(f"{base}/silences", post(add_silence), methods=["POST"]),
            Route(f"{base}/silences/{{silence_id:str}}/remove", post(remove_silence),
                  methods=["POST"])]
