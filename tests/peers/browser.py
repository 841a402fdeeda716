"""Debian's headless chromium driven by Playwright: the browser the console tests use.

Never Playwright's own download (this machine has no internet): `executable_path` is
Debian's /usr/bin/chromium, with the flags that keep it from reaching anywhere but the
loopback pages a test opens. One browser per module; each test takes a fresh context
(its own cookies)."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@contextlib.contextmanager
def running_browser() -> Iterator[object]:
    """A launched chromium (playwright's Browser); closed after."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS,
                                             headless=True)
        try:
            yield browser
        finally:
            browser.close()
