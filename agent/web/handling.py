"""What the routes of pages.py and api.py share: the agent's view behind a request, a
bounded whole number from the query, and a change (ack, silence, unsilence) run on the
alert store as the logged-in user. What stops a request (HTTPException, an alert store
that cannot be used) is answered in one place, pages.error_page: a page, or JSON under
/api/."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request

from agent.web.access import Viewer
from agent.web.source import AgentView
from alerts.evaluation.store_api import AlertStore

T = TypeVar("T")

READ_ONLY = "changes need console.read_only: false and a logged-in user"


def view_of(request: Request) -> AgentView:
    view: AgentView = request.app.state.console.view
    return view


def query_number(request: Request, name: str, default: int, low: int, high: int) -> int:
    """`?name=` as a whole number from `low` to `high`; `default` when absent. Raises
    HTTPException 400 for anything else."""
    text = request.query_params.get(name, "")
    if not text:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise HTTPException(400, f"{name}: a whole number from {low} to {high}")
    return int(text)


def may_change(request: Request) -> str:
    """The user who may change things; HTTPException 403 for anyone else."""
    viewer: Viewer = request.state.viewer
    if not viewer.can_change or viewer.user is None:
        raise HTTPException(403, READ_ONLY)
    return viewer.user


async def change(request: Request, work: Callable[[AlertStore, str, datetime], T]) -> T:
    """`work(store, user, now)` off the event loop, on the alert store opened for changes
    (closed after), as the logged-in user. Raises HTTPException 403 (read only),
    actions.ActionError (not doable as asked) and AlertStoreUnavailableError."""
    user, view = may_change(request), view_of(request)

    def run() -> T:
        with view.alert_store_for_changes() as store:
            return work(store, user, view.clock())
    return await run_in_threadpool(run)
