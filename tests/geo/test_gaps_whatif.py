"""Gap areas and what-if changes, checked against direct recomputation."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from circle15.geo.coverage.count import CoverageSettings, compute_coverage
from circle15.geo.coverage.gaps import find_gaps, hex_cells, hex_polygons
from circle15.geo.coverage.whatif import what_if
from circle15.geo.errors import InputError
from circle15.geo.inputs.stations import Stations
from circle15.geo.snapping.snap import Snapped
from tests.helpers import make_population, make_stations, points_near_streets

SETTINGS = CoverageSettings.of(10)


@pytest.fixture(scope="module")
def scenario(andorra):
    rng = np.random.default_rng(21)
    stations = make_stations(andorra, points_near_streets(andorra, 20, rng))
    people = make_population(andorra, points_near_streets(andorra, 5000, rng, spread_m=50), rng)
    return compute_coverage(andorra, stations, people, settings=SETTINGS)


def test_hex_cells_contain_their_points():
    rng = np.random.default_rng(0)
    xy = rng.uniform(-5000, 5000, (3000, 2))
    qr = hex_cells(xy, 137.0)
    polys = hex_polygons(qr, 137.0)
    assert shapely.covers(shapely.buffer(polys, 1e-6), shapely.points(xy)).all()


@pytest.mark.parametrize(("level", "merge"), [("covered", False), ("cross", False),
                                              ("covered", True)])
def test_gap_areas_hold_exactly_the_gap_population(scenario, level, merge):
    cov = scenario
    gaps = find_gaps(cov, level=level, hex_m=150, merge=merge)
    need = 1 if level == "covered" else 2
    in_gap = cov.unit_count[-1] < need
    pop = cov.population.count
    assert gaps["population"].sum() == pytest.approx(pop[in_gap].sum())
    assert (np.diff(gaps["population"].to_numpy()) <= 0).all()  # ranked, largest first
    assert gaps["rank"].tolist() == list(range(1, len(gaps) + 1))
    # every gap unit lies in exactly one area; no covered unit is counted
    pts = cov.population.frame.geometry.to_numpy()
    hit_unit, hit_area = shapely.STRtree(gaps.geometry.to_numpy()).query(
        pts[in_gap], predicate="intersects")
    assert np.bincount(hit_unit, minlength=int(in_gap.sum())).min() >= 1
    if merge:  # clusters do not touch, so a unit meets exactly one
        assert np.bincount(hit_unit).max() == 1
        per_area = np.bincount(hit_area, weights=pop[in_gap][hit_unit], minlength=len(gaps))
        np.testing.assert_allclose(per_area, gaps["population"], rtol=1e-9)
        assert (gaps["hexes"] >= 1).all() and gaps["hexes"].max() > 1
    # the nearest station named is the nearest to someone in the area
    top = gaps.iloc[0]
    inside = shapely.intersects(top.geometry, pts) & in_gap
    assert top["nearest_walk_min"] == pytest.approx(cov.unit_time_min[inside].min(), abs=0.05)
    assert len(gaps) > 1 and (gaps["area_km2"] > 0).all()


def _combine(net, frames_snapped):
    frames = [f for f, _ in frames_snapped]
    frame = pd.concat(frames, ignore_index=True)
    return Stations(gpd.GeoDataFrame(frame, geometry="geometry", crs=net.crs),
                    Snapped.concat([s for _, s in frames_snapped]))


def test_what_if_equals_recomputing(scenario, andorra):
    cov = scenario
    rng = np.random.default_rng(4)
    new = make_stations(andorra, points_near_streets(andorra, 3, rng))
    new.frame["id"] = ["N1", "N2", "S3"]  # S3 moves
    result = what_if(cov, add=new, remove=["S1", "S2", "S3"])
    keep = ~cov.stations.frame["id"].isin(["S1", "S2", "S3"]).to_numpy()
    kept = cov.stations.select(keep)
    after = _combine(andorra, [(kept.frame, kept.snapped), (new.frame, new.snapped)])
    direct = compute_coverage(andorra, after, cov.population, settings=SETTINGS)
    np.testing.assert_array_equal(result.unit_count_after, direct.unit_count)
    s = result.summary()
    np.testing.assert_allclose(s["covered_after"], direct.summary()["covered"])
    d = result.delta()
    b, a = cov.unit_count[-1], direct.unit_count[-1]
    pop = cov.population.count
    assert d["newly_covered"] == pytest.approx(pop[(b == 0) & (a > 0)].sum())
    assert d["lost_coverage"] == pytest.approx(pop[(b > 0) & (a == 0)].sum())
    assert s["covered_change"].iloc[-1] == pytest.approx(d["newly_covered"] - d["lost_coverage"])


def test_what_if_refuses_unknown_and_clashing_ids(scenario, andorra):
    new = make_stations(andorra, points_near_streets(andorra, 1, np.random.default_rng(1)))
    with pytest.raises(InputError, match="no station with id 'nope'"):
        what_if(scenario, remove=["nope"])
    with pytest.raises(InputError, match="'S1' already exists"):
        what_if(scenario, add=new)


def test_merged_gaps_are_bounded_and_carry_their_town(tmp_path):
    # at district scale one merged "gap area" held 922,627 of 922,631 uncovered people
    # over 946 km²: merged areas now stay within one town and a block of max_km2
    import pandas as pd
    import shapely

    from circle15.geo.coverage.gaps import find_gaps
    from circle15.usecases import AreaSpec, load_area
    from circle15.usecases.area import cover, read_station_file
    from tests.conftest import shared

    data = shared("district/subsets/pop-50k.csv").parent
    area = load_area(AreaSpec(network=str(data / "city-50k.osm.pbf"),
                              population=str(data / "pop-50k.csv"),
                              areas=str(shared("district/towns.geojson")),
                              drop_far_population=True))
    few = tmp_path / "few.csv"
    pd.read_csv(data / "stations-50k.csv").head(3).to_csv(few, index=False)
    cov = cover(area, read_station_file(area, few))
    plain = find_gaps(cov, hex_m=300)
    unbounded = find_gaps(cov, hex_m=300, merge=True, max_km2=1e9)
    for cap in (50.0, 5.0):
        merged = find_gaps(cov, hex_m=300, merge=True, areas=area.areas, max_km2=cap)
        assert merged["area_km2"].max() <= cap
        assert len(merged) > len(unbounded)
        assert merged["population"].sum() == pytest.approx(plain["population"].sum())
        assert list(merged["population"]) == sorted(merged["population"], reverse=True)
        # each area's town is the one its hexagons' centres lie in
        towns = area.areas.frame.set_index("name").geometry
        for row in merged.head(10).itertuples():
            if row.town:
                inside = towns[row.town].buffer(400).covers(row.geometry)
                assert inside, (row.rank, row.town)
        assert set(merged["town"]) - {""} <= set(towns.index)
    assert shapely.union_all(merged.geometry.to_numpy()).area == pytest.approx(
        shapely.union_all(plain.geometry.to_numpy()).area, rel=1e-6)


def test_a_gap_at_the_edge_of_the_towns_is_given_its_town(tmp_path):
    """Only people outside every town make a gap area without a town: at the towns'
    outer edge a hexagon's centre may lie outside while its people are inside (73 of a
    district's 182 merged areas had no town)."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    from circle15.geo.coverage.count import first_area
    from circle15.geo.coverage.gaps import find_gaps
    from circle15.usecases import AreaSpec, load_area
    from circle15.usecases.area import cover, read_station_file
    from tests.conftest import shared

    data = shared("district/subsets/pop-50k.csv").parent
    people = pd.read_csv(data / "pop-50k.csv")
    # the towns cut by a box through the people: an outer edge with people on both sides
    lon0, lon1 = people["lon"].quantile([0.2, 0.8])
    lat0, lat1 = people["lat"].quantile([0.2, 0.8])
    towns = gpd.read_file(shared("district/towns.geojson"))
    towns["geometry"] = towns.geometry.intersection(shapely.box(lon0, lat0, lon1, lat1))
    towns = towns[~towns.geometry.is_empty]
    towns.to_file(tmp_path / "cut.geojson", driver="GeoJSON")
    area = load_area(AreaSpec(network=str(data / "city-50k.osm.pbf"),
                              population=str(data / "pop-50k.csv"),
                              areas=str(tmp_path / "cut.geojson"), drop_far_population=True))
    few = tmp_path / "few.csv"
    pd.read_csv(data / "stations-50k.csv").head(3).to_csv(few, index=False)
    cov = cover(area, read_station_file(area, few))
    merged = find_gaps(cov, hex_m=300, merge=True, areas=area.areas, max_km2=50.0)
    gap = np.flatnonzero(cov.unit_count[-1] == 0)
    inside, _ = first_area(cov.population.frame.geometry.to_numpy()[gap],
                           area.areas.frame.geometry.to_numpy())
    outside = cov.population.count[gap].sum() - cov.population.count[gap][inside].sum()
    # the areas without a town hold no one who lives in a town (hexagons mixing both
    # go to their town: at most those few people)
    blank = merged.loc[merged["town"] == "", "population"].sum()
    assert blank <= outside + 1e-6
    assert (merged["town"] != "").any() and blank > 0
