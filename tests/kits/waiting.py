"""Waiting for what a test needs to have happened, instead of sleeping for a fixed time.

`eventually(check)` calls `check` every POLL_SECONDS until it returns something truthy,
and returns that. PATIENCE bounds the wait: it is how long a slow or busy machine may
take, not a timing the test asserts, so it is generous.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

PATIENCE = 30.0
POLL_SECONDS = 0.05


def eventually(check: Callable[[], T], what: str = "the condition", *,
               timeout: float = PATIENCE, explain: Callable[[], str] = lambda: "") -> T:
    """The first truthy value of `check()`; AssertionError (with `explain()` appended)
    if none came within `timeout` seconds. Exceptions from `check` propagate."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}"
                                 f"{explain()}")
        time.sleep(POLL_SECONDS)
