"""The committee report of a scenario, ``GET /scenarios/{id}/report.pdf`` and ``.html``:
the register now, and with the scenario's stations; the stations it adds are the
proposed sites, in the order they were added, each with the people it newly covers.

The numbers are those of ``circle15 report``'s use case
(:func:`circle15.usecases.report.build_scenario_report`); the PDF is printed by the
same headless Chromium. A report is drawn once per scenario version and language, in
the pool of expensive requests.
"""

from __future__ import annotations

import tempfile
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Annotated

import pandas as pd
from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import HTMLResponse

from circle15.api.deps import StateDep, needs
from circle15.api.guards.users import User
from circle15.api.state import AppState
from circle15.maps.i18n import Lang
from circle15.usecases.area import stations_of_records
from circle15.usecases.scenarios import apply_edits, evaluate

router = APIRouter(prefix="/scenarios", tags=["scenarios"])
Viewer = Annotated[User, Depends(needs("viewer"))]
#: reports kept drawn (scenario, version, language, format)
KEPT = 8
_kept: OrderedDict[tuple[str, int, str, str], bytes] = OrderedDict()
_kept_lock = threading.Lock()


def _report(state: AppState, sid: str, lang: str, fmt: str) -> bytes:
    from circle15.maps.report import check_printer, print_pdf, report_html
    from circle15.usecases.report import build_scenario_report

    sc = state.scenarios.get(sid)
    key = (sid, int(sc["version"]), lang, fmt)
    with _kept_lock:
        if key in _kept:
            _kept.move_to_end(key)
            return _kept[key]
    if fmt == "pdf":
        check_printer()
    records = apply_edits(sc["base"], sc["edits"])
    with state.expensive.turn("report"):
        register = state.store.all()
        known = {str(r["id"]): (r["lon"], r["lat"]) for r in register}
        ids = [str(r["id"]) for r in records]
        added = [i for i in ids if i not in known]
        removed = [i for i in known if i not in set(ids)]
        # each added station's gain in the order it was added, from the workbench's book
        book = state.book()
        kept = [r for r in records if str(r["id"]) not in set(added)]
        by_id = {str(r["id"]): r for r in records}
        covered = []
        for n in range(1, len(added) + 1):
            ev = evaluate(state.area, book, kept + [by_id[i] for i in added[:n]])
            covered.append(float(ev.summary().iloc[-1]["covered"]))
        before = float(evaluate(state.area, book, kept).summary().iloc[-1]["covered"])
        gains = pd.DataFrame({"id": added, "covered": covered,
                              "newly_covered": pd.Series([before, *covered]).diff()
                              .iloc[1:].to_numpy()})
        cov = state.coverage()
        proposal = stations_of_records(state.area, records, source=f"scenario {sc['name']}",
                                       check_crs=False)
        title = (f"驿站15分钟服务圈评估报告：{sc['name']}" if lang == "zh" else
                 f"15-minute station coverage report: {sc['name']}")
        data = build_scenario_report(state.area, state.layers(), cov.stations, cov, proposal,
                                     added, removed, gains=gains, title=title,
                                     base_covered=before)
        html = report_html(data, lang=lang)
        if fmt == "html":
            body = html.encode()
        else:
            with tempfile.TemporaryDirectory(prefix="c15-report-") as folder:
                path = Path(folder) / "report.pdf"
                print_pdf(html, path)
                body = path.read_bytes()
    with _kept_lock:
        _kept[key] = body
        while len(_kept) > KEPT:
            _kept.popitem(last=False)
    return body


@router.get("/{sid}/report.pdf", summary="The scenario's committee report, A4 PDF",
            response_class=Response, responses={200: {"content": {"application/pdf": {}}}})
def scenario_report_pdf(sid: str, state: StateDep, _: Viewer,
                        lang: Annotated[Lang, Query()] = "zh") -> Response:
    return Response(_report(state, sid, lang, "pdf"), media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="report-{sid}.pdf"'})


@router.get("/{sid}/report.html", summary="The scenario's committee report, as one HTML page",
            response_class=HTMLResponse)
def scenario_report_html(sid: str, state: StateDep, _: Viewer,
                         lang: Annotated[Lang, Query()] = "zh") -> HTMLResponse:
    return HTMLResponse(_report(state, sid, lang, "html").decode())
