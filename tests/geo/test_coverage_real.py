"""Coverage on real OSM extracts agrees with an independent networkx computation."""

from __future__ import annotations

import numpy as np
import pytest

from circle15.geo.coverage.count import CoverageSettings, compute_coverage
from tests.helpers import make_population, make_stations, points_near_streets
from tests.reference import as_array, nearest_lengths, split_graph, within

CASES = [("longgang", 15, 1500), ("liechtenstein", 40, 4000), ("andorra", 30, 3000)]


@pytest.mark.parametrize(("network", "n_stations", "n_people"), CASES)
def test_matches_networkx_on_real_extract(request, network, n_stations, n_people):
    net = request.getfixturevalue(network)
    rng = np.random.default_rng(2026)
    stations = make_stations(net, points_near_streets(net, n_stations, rng))
    # half the people are scattered, half sit near stations (often on a station's own edge)
    near = np.repeat(stations.frame[["lon", "lat"]].to_numpy(), n_people // (2 * n_stations), 0)
    near = near + rng.normal(0, 0.0008, near.shape)
    people_ll = np.vstack([points_near_streets(net, n_people - len(near), rng, spread_m=60), near])
    people = make_population(net, people_ll, rng)
    settings = CoverageSettings(bands_min=(5, 15), speed_kmh=4.0)
    cov = compute_coverage(net, stations, people, settings=settings)

    G = split_graph(net, {"st": stations.snapped, "p": people.snapped})
    station_nodes = [("st", j) for j in range(len(stations))]
    ref = nearest_lengths(G, station_nodes)

    # every node's walking distance to its nearest station, at any distance
    ref_nodes = as_array(ref, list(range(net.n_nodes)))
    assert np.isfinite(ref_nodes).all()
    np.testing.assert_allclose(cov.nearest_any.node_dist_m, ref_nodes, rtol=0, atol=1e-3)
    # every person's
    ref_people = as_array(ref, [("p", j) for j in range(len(people))])
    np.testing.assert_allclose(cov.nearest_any.target_dist_m, ref_people, rtol=0, atol=1e-3)
    # the bounded pass used for coverage agrees within the limit and stops beyond it
    lim = settings.limit_m
    inside = ref_people <= lim - 1e-6
    np.testing.assert_allclose(cov.nearest.target_dist_m[inside], ref_people[inside], atol=1e-3)
    assert np.isinf(cov.nearest.target_dist_m[ref_people > lim + 1e-6]).all()
    # the nearest station named is one at that distance
    named = cov.nearest_any.target_source[:10]
    for j, s in enumerate(named.tolist()):
        d = within(G, ("st", s), ref_people[j] + 1.0).get(("p", j), np.inf)
        assert d == pytest.approx(ref_people[j], abs=1e-3)

    # how many stations reach each person, per band, from one search per station
    counts = np.zeros((2, len(people)), dtype=int)
    for s in station_nodes:
        d = as_array(within(G, s, settings.limit_m), [("p", j) for j in range(len(people))])
        for b, lim in enumerate(settings.bands_m):
            counts[b] += d <= lim + 1e-9
    np.testing.assert_array_equal(cov.unit_count, counts)
    # the test population must exercise the interesting cases
    assert (counts[1] >= 2).sum() > 10 and (counts[1] == 0).sum() > 10

    # the summary is the population weighted by those counts
    pop = people.count
    s15 = cov.summary().iloc[-1]
    assert s15["covered"] == pytest.approx(pop[counts[1] >= 1].sum())
    assert s15["cross_covered"] == pytest.approx(pop[counts[1] >= 2].sum())
    assert s15["covered"] + s15["uncovered"] == pytest.approx(pop.sum())
