"""A real headless Chromium (Debian's) driven by Playwright, with no outside network.

Every request the page makes is recorded; anything that is not a local file or
inline data is aborted, so nothing leaves the machine.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@dataclass
class Requests:
    local: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)


@contextmanager
def browser_page(tmp_path: Path, *, allow: tuple[str, ...] = ("file:", "data:")
                 ) -> Iterator[tuple[object, Requests]]:
    """A fresh page; the second value lists local and blocked requests."""
    from playwright.sync_api import sync_playwright

    if shutil.which("chromium") is None and not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed: run `make install` (it installs the "
                    "chromium package)")
    seen = Requests()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        context = browser.new_context(viewport={"width": 1280, "height": 860})

        def route(r: object) -> None:
            url = r.request.url  # type: ignore[attr-defined]
            if url.startswith(allow):
                seen.local.append(url)
                r.continue_()  # type: ignore[attr-defined]
            else:
                seen.blocked.append(url)
                r.abort()  # type: ignore[attr-defined]

        context.route("**/*", route)
        page = context.new_page()
        try:
            yield page, seen
        finally:
            context.close()
            browser.close()
