"""The workbench's counts, edit by edit: counting only the stations an edit changes gives
exactly the counts of the whole station list recounted, and those of circle15's own
coverage, over random sequences of adds, removals and moves on the real Longgang area."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from circle15.usecases.area import AreaSpec, cover, load_area, stations_of_records
from circle15.usecases.scenarios import ReachBook, apply_edits, evaluate
from tests.conftest import shared
from tests.helpers import points_near_streets


@pytest.fixture(scope="module")
def area(tmp_path_factory, longgang):
    folder = tmp_path_factory.mktemp("counts")
    rng = np.random.default_rng(8)
    pp = points_near_streets(longgang, 600, rng, spread_m=40)
    pd.DataFrame({"lon": pp[:, 0], "lat": pp[:, 1], "population": rng.integers(1, 50, 600)}
                 ).to_csv(folder / "pop.csv", index=False)
    return load_area(AreaSpec(network=str(shared("osm/shenzhen-longgang.osm")),
                              population=str(folder / "pop.csv"), drop_far_population=True))


def _placeable(area, point) -> bool:
    """On the connected network the area keeps (not on a dropped island)."""
    from circle15.geo.errors import InputError

    try:
        stations_of_records(area, [{"id": "x", "name": "x", "lon": float(point[0]),
                                    "lat": float(point[1])}], source="probe")
    except InputError:
        return False
    return True


def test_counting_the_change_equals_counting_everything(area, longgang):
    rng = np.random.default_rng(3)
    spots = [p for p in points_near_streets(longgang, 60, rng, spread_m=5)
             if _placeable(area, p)][:40]
    register = [{"id": f"R{i}", "name": f"站{i}", "lon": float(x), "lat": float(y)}
                for i, (x, y) in enumerate(spots[:8])]
    base = cover(area, stations_of_records(area, register, source="register"))
    book = ReachBook(area, base)
    edits: list[dict[str, object]] = []
    last = evaluate(area, book, register)
    free = list(range(8, 40))
    for step in range(24):
        ids = [r["id"] for r in apply_edits(register, edits)]
        op = ("add", "remove", "move", "add", "update")[step % 5]
        if op == "add" or len(ids) < 3:
            x, y = spots[free.pop()]
            edits.append({"op": "add", "station": {"id": f"N{step}", "name": "新",
                                                   "lon": float(x), "lat": float(y)}})
        elif op == "remove":
            edits.append({"op": "remove", "station_id": ids[int(rng.integers(len(ids)))]})
        elif op == "move":
            x, y = spots[free.pop()]
            edits.append({"op": "move", "station_id": ids[int(rng.integers(len(ids)))],
                          "lon": float(x), "lat": float(y)})
        else:  # planned stations do not count: the change takes one out
            edits.append({"op": "update", "station_id": ids[0], "status": "planned"})
        records = apply_edits(register, edits)
        step_wise = evaluate(area, book, records, since=last)
        whole = evaluate(area, book, records)
        assert np.array_equal(step_wise.counts, whole.counts), (step, edits[-1])
        last = step_wise
    # and the numbers are circle15's own coverage of the resulting list
    final = stations_of_records(area, apply_edits(register, edits), source="final",
                                check_crs=False)
    full = cover(area, final).summary()
    got = last.summary()
    for col in ("covered", "cross_covered", "uncovered"):
        assert got[col].tolist() == pytest.approx(full[col].tolist(), abs=1e-6), col
