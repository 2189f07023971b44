"""Map pages drawn off the request path: the last good page is served meanwhile.

A district planner map takes tens of seconds to draw. :class:`PageKeeper`
draws each page (planner, courier; per language and basemap) in a background
thread after start-up and after every station change, and a request gets
the newest page there is at once: the one for the current stations, or the
last good one with a notice saying how old it is and that a newer one is
being drawn. A request waits at most ``wait_s`` for a drawing to finish. A
drawing that fails keeps the last good page; the failure is logged and told
on the page and in ``/health``.

Pages are also written to a folder shared by the service's worker
processes: one process draws a page (the others wait on its file lock) and
every process serves the file it wrote, so N workers draw each page once.
"""

from __future__ import annotations

import contextlib
import fcntl
import html as html_lib
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path

log = logging.getLogger(__name__)

#: a page's key: (kind, lang, basemap), e.g. ("planner", "zh", "osm")
Key = tuple[str, ...]
#: draws the page for a key for the stations as they are now: (revision drawn, HTML)
Draw = Callable[[Key], tuple[int, str]]
#: a failed drawing of a revision is tried again after this many seconds
RETRY_AFTER_FAILURE_S = 60.0


@dataclass(frozen=True)
class Page:
    """One drawn page: the stations' revision it shows, when it was drawn, and how long
    drawing took."""

    html: str
    revision: int
    built_at: float
    seconds: float


@dataclass(frozen=True)
class Failure:
    """A drawing that failed: for which revision, why, when."""

    revision: int
    message: str
    at: float
    error: Exception


@dataclass(frozen=True)
class Served:
    """What a request gets: the newest page (None when none was ever drawn), whether it
    shows the current stations, and whether a newer one is being drawn or failed."""

    page: Page | None
    current: bool
    drawing: bool
    failure: Failure | None
    drawing_since: float | None


class PageKeeper:
    """Pages per key, drawn in background threads (one per key at a time)."""

    def __init__(self, draw: Draw, *, folder: Path | None = None, wait_s: float = 1.0,
                 drawn_elsewhere: bool = False) -> None:
        self.draw = draw
        self.folder = folder
        self.wait_s = wait_s
        #: another process draws the pages into ``folder`` (asked through ``.want`` files);
        #: this one only serves them
        self.drawn_elsewhere = drawn_elsewhere
        if drawn_elsewhere and folder is None:
            msg = "pages drawn elsewhere need the folder they are drawn into"
            raise ValueError(msg)
        self._pages: dict[Key, Page] = {}
        self._wanted: dict[Key, int] = {}
        self._drawing: dict[Key, float] = {}
        self._failures: dict[Key, Failure] = {}
        #: when each page was last asked for (which variants are worth redrawing)
        self._asked: dict[Key, float] = {}
        self._cond = threading.Condition()
        self._closed = False
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)

    # -- requests ---------------------------------------------------------------------

    def get(self, key: Key, revision: int) -> Served:
        """The newest page for ``key``; starts a drawing when it is older than
        ``revision`` and waits for it at most ``wait_s``."""
        deadline = time.monotonic() + self.wait_s
        with self._cond:
            self._asked[key] = time.monotonic()
            self._adopt_from_disk(key, revision)
            if self._is_current(key, revision):
                return self._served(key, revision)
            self.request(key, revision)
            while not self._is_current(key, revision) and key in self._drawing:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            return self._served(key, revision)

    def request(self, key: Key, revision: int) -> None:
        """Have ``key`` drawn for ``revision`` (or later) in the background."""
        with self._cond:
            if self._closed or self._is_current(key, revision):
                return
            self._wanted[key] = max(self._wanted.get(key, -1), revision)
            failed = self._failures.get(key)
            if (failed is not None and failed.revision >= revision
                    and time.time() - failed.at < RETRY_AFTER_FAILURE_S):
                return  # this revision failed just now: not again on every request
            if key not in self._drawing:
                self._drawing[key] = time.time()
                threading.Thread(target=self._run, args=(key,), daemon=True,
                                 name=f"draw-{'-'.join(key)}").start()

    def keys(self) -> list[Key]:
        with self._cond:
            return sorted(set(self._pages) | set(self._wanted))

    def recently_asked(self, *, within_s: float, most: int) -> list[Key]:
        """The ``most`` pages asked for most recently, within the last ``within_s``."""
        now = time.monotonic()
        with self._cond:
            recent = [(at, k) for k, at in self._asked.items() if now - at <= within_s]
        return [k for _, k in sorted(recent, reverse=True)[:most]]

    def status(self) -> dict[str, object]:
        """Per page: revision, age, drawing seconds, whether drawing now, the last failure."""
        now = time.time()
        out: dict[str, object] = {}
        with self._cond:
            for key in sorted(set(self._pages) | set(self._wanted)):
                page, failed = self._pages.get(key), self._failures.get(key)
                out["/".join(key)] = {
                    "revision": None if page is None else page.revision,
                    "age_s": None if page is None else round(now - page.built_at, 1),
                    "draw_s": None if page is None else round(page.seconds, 2),
                    "drawing": key in self._drawing,
                    "failed": None if failed is None else failed.message}
        return out

    def close(self) -> None:
        """Start no more drawings (those under way finish and are dropped)."""
        with self._cond:
            self._closed = True

    # -- inside ------------------------------------------------------------------------

    def _is_current(self, key: Key, revision: int) -> bool:
        page = self._pages.get(key)
        return page is not None and page.revision >= revision

    def _served(self, key: Key, revision: int) -> Served:
        page = self._pages.get(key)
        return Served(page, page is not None and page.revision >= revision,
                      key in self._drawing, self._failures.get(key), self._drawing.get(key))

    def _run(self, key: Key) -> None:
        while True:
            with self._cond:
                wanted = self._wanted.get(key, -1)
            try:
                with self._file_lock(key):
                    with self._cond:
                        self._adopt_from_disk(key, wanted)
                        done = self._is_current(key, wanted)
                    if not done and self.drawn_elsewhere:
                        self._await_drawn(key, wanted)
                    elif not done:
                        t0 = time.perf_counter()
                        revision, html = self.draw(key)
                        page = Page(html, revision, time.time(), time.perf_counter() - t0)
                        write_page(self.folder, key, page)
                        log.info("drew %s for revision %d in %.1f s", "/".join(key), revision,
                                 page.seconds)
                        with self._cond:
                            self._keep(key, page)
            except Exception as exc:
                log.exception("drawing %s failed; the last good page stays", "/".join(key))
                message = (str(exc) if isinstance(exc, DrawingError)
                           else f"{type(exc).__name__}: {exc}")[:300]
                with self._cond:
                    self._failures[key] = Failure(wanted, message, time.time(), exc)
                    del self._drawing[key]
                    self._cond.notify_all()
                return
            with self._cond:
                if self._closed or self._is_current(key, self._wanted.get(key, -1)):
                    del self._drawing[key]
                    self._cond.notify_all()
                    return
                self._drawing[key] = time.time()  # the stations changed meanwhile: again

    def _keep(self, key: Key, page: Page) -> None:
        old = self._pages.get(key)
        if old is None or page.revision >= old.revision:
            self._pages[key] = page
            failed = self._failures.get(key)
            if failed is not None and failed.revision <= page.revision:
                del self._failures[key]
        self._cond.notify_all()

    def _await_drawn(self, key: Key, wanted: int) -> None:
        """Ask the drawing process for ``key`` and wait for its page (or its failure)."""
        assert self.folder is not None
        with contextlib.suppress(OSError):
            (self.folder / f"{file_name(key)}.want").touch()
        while not self._closed:
            with self._cond:
                self._adopt_from_disk(key, wanted)
                if self._is_current(key, wanted):
                    return
            failed = read_failure(self.folder, key)
            if failed is not None and failed[0] >= wanted:
                raise DrawingError(failed[1])
            time.sleep(0.25)

    # the shared folder: <kind>-<lang>-<basemap>.r<revision>.html, written atomically

    @contextlib.contextmanager
    def _file_lock(self, key: Key) -> Iterator[None]:
        if self.folder is None or self.drawn_elsewhere:
            yield
            return
        with open(self.folder / f"{file_name(key)}.lock", "a+b") as f:
            fcntl.flock(f, fcntl.LOCK_EX)  # another worker drawing it: wait for its file
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def _adopt_from_disk(self, key: Key, revision: int) -> None:
        """Take the page another worker drew, when it is newer than ours."""
        if self.folder is None or self._is_current(key, revision):
            return
        best = latest_page(self.folder, key)
        old = self._pages.get(key)
        if best is None or (old is not None and old.revision >= best[0]):
            return
        try:
            built = best[1].stat().st_mtime
            html = best[1].read_text(encoding="utf-8")
        except OSError:
            return  # replaced meanwhile: the next look finds the newer one
        seconds = 0.0  # how long the drawing took, as the drawing process noted it
        with contextlib.suppress(OSError, ValueError):
            rev, took = (self.folder / f"{file_name(key)}.seconds").read_text().split()
            seconds = float(took) if int(rev) == best[0] else 0.0
        self._keep(key, Page(html, best[0], built, seconds))


# -- the shared folder ---------------------------------------------------------------------


class DrawingError(RuntimeError):
    """The drawing process could not draw a page (its message)."""


def file_name(key: Key) -> str:
    return "-".join(re.sub(r"[^A-Za-z0-9_]", "_", part) for part in key)


def latest_page(folder: Path, key: Key) -> tuple[int, Path] | None:
    """(revision, path) of the newest page file for ``key``."""
    name = file_name(key)
    best: tuple[int, Path] | None = None
    for path in folder.glob(f"{name}.r*.html"):
        m = re.fullmatch(re.escape(name) + r"\.r(\d+)\.html", path.name)
        if m and (best is None or int(m.group(1)) > best[0]):
            best = (int(m.group(1)), path)
    return best


def write_page(folder: Path | None, key: Key, page: Page) -> None:
    """Keep a drawn page for every process (atomically; older ones removed)."""
    if folder is None:
        return
    name = file_name(key)
    final = folder / f"{name}.r{page.revision}.html"
    tmp = folder / f".{name}.{os.getpid()}.tmp"
    try:
        tmp.write_text(page.html, encoding="utf-8")
        os.utime(tmp, (page.built_at, page.built_at))
        tmp.replace(final)
        (folder / f"{name}.seconds").write_text(f"{page.revision} {page.seconds:.3f}")
        for old in folder.glob(f"{name}.r*.html"):
            if old != final:
                old.unlink(missing_ok=True)
    except OSError as exc:  # a full disk costs sharing, not the page
        log.warning("cannot keep %s in %s: %s", name, folder, exc)
        tmp.unlink(missing_ok=True)


def write_failure(folder: Path, key: Key, revision: int, message: str) -> None:
    with contextlib.suppress(OSError):
        (folder / f"{file_name(key)}.failed").write_text(f"{revision}\n{message}",
                                                         encoding="utf-8")


def read_failure(folder: Path, key: Key) -> tuple[int, str, float] | None:
    """(revision, message, when) of the last failed drawing of ``key``, if any."""
    path = folder / f"{file_name(key)}.failed"
    try:
        revision, _, message = path.read_text(encoding="utf-8").partition("\n")
        return int(revision), message, path.stat().st_mtime
    except (OSError, ValueError):
        return None


def wanted_keys(folder: Path) -> list[Key]:
    """The pages some process has asked for."""
    return [tuple(p.name.removesuffix(".want").split("-")) for p in folder.glob("*.want")]


# -- what the browser gets ----------------------------------------------------------------

NOTICE = {
    "en": ("This map shows the stations as they were {age} ago; a newer one is being drawn "
           "— reload in a moment.",
           "This map shows the stations as they were {age} ago; drawing the newer one "
           "failed ({error})."),
    "zh": ("此地图显示的是{age}前的驿站；新地图正在生成，请稍后刷新。",
           "此地图显示的是{age}前的驿站；新地图生成失败（{error}）。"),
}
WAITING = {
    "en": ("The map is being drawn ({seconds:.0f} s so far); this page reloads itself.",
           "Drawing the map failed ({error}); it is tried again shortly."),
    "zh": ("地图正在生成（已用 {seconds:.0f} 秒），本页会自动刷新。",
           "地图生成失败（{error}），稍后会重试。"),
}


def _age(seconds: float, lang: str) -> str:
    if seconds < 90:
        return f"{seconds:.0f} 秒" if lang == "zh" else f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} 分钟" if lang == "zh" else f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} 小时" if lang == "zh" else f"{seconds / 3600:.1f} h"


def page_headers(served: Served) -> dict[str, str]:
    """How old the page is, which stations it shows, and whether a newer one is coming."""
    page = served.page
    state = ("current" if served.current else "drawing" if served.drawing
             else "failed" if served.failure is not None else "stale")
    headers = {"X-Page-State": state, "Cache-Control": "no-cache"}
    if page is not None:
        headers.update({"X-Page-Revision": str(page.revision),
                        "X-Page-Age": f"{max(0.0, time.time() - page.built_at):.0f}",
                        "Last-Modified": formatdate(page.built_at, usegmt=True)})
    return headers


def with_notice(served: Served, lang: str) -> str:
    """The page's HTML; an older page carries a notice bar saying so."""
    page = served.page
    assert page is not None
    if served.current:
        return page.html
    text = NOTICE.get(lang, NOTICE["en"])
    age = _age(max(0.0, time.time() - page.built_at), lang)
    message = (text[1].format(age=age, error=served.failure.message)
               if served.failure is not None and not served.drawing
               else text[0].format(age=age))
    bar = ('<div id="c15-page-notice" role="status" style="position:fixed;top:0;left:50%;'
           'transform:translateX(-50%);z-index:10000;background:#fff8d6;color:#333;'
           'border:1px solid #d9b400;border-radius:0 0 6px 6px;padding:4px 12px;'
           f'font:13px sans-serif">{html_lib.escape(message)}</div>')
    body = re.search(r"<body[^>]*>", page.html)
    at = body.end() if body else 0
    return page.html[:at] + bar + page.html[at:]


def waiting_page(served: Served, lang: str) -> str:
    """A small self-reloading page for when no map was drawn yet."""
    text = WAITING.get(lang, WAITING["en"])
    if served.drawing or served.failure is None:
        since = served.drawing_since or time.time()
        message = text[0].format(seconds=max(0.0, time.time() - since))
    else:
        message = text[1].format(error=served.failure.message)
    return ('<!DOCTYPE html><html><head><meta charset="utf-8">'
            '<meta http-equiv="refresh" content="5"><title>circle15</title></head>'
            f'<body><p id="c15-page-waiting">{html_lib.escape(message)}</p></body></html>')
