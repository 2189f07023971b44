"""Everyone is counted in exactly one town: a person on a shared border goes to
the town listed first, a person outside every town to none."""

from __future__ import annotations

import numpy as np
import shapely

from circle15.geo.coverage.count import first_area


def test_people_on_borders_count_once_in_the_first_town_listed() -> None:
    west = shapely.box(0, 0, 100, 100)
    east = shapely.box(100, 0, 200, 100)
    ring = shapely.box(-50, -50, 250, 150).difference(shapely.box(-10, -10, 210, 110))
    areas = np.array([east, west, ring], dtype=object)
    xy = np.array([[50, 50], [150, 50], [100, 50], [100, 100], [0, 0], [300, 300],
                   [-30, 0], [230, 120], [200, 100]], dtype=float)
    people, town = first_area(shapely.points(xy), areas)
    got = dict(zip(people.tolist(), town.tolist(), strict=True))
    # inside west, inside east, on their shared border (east is listed first),
    # the shared corner, west's outer corner, far outside, in the ring twice,
    # east's outer corner
    assert got == {0: 1, 1: 0, 2: 0, 3: 0, 4: 1, 6: 2, 7: 2, 8: 0}
    # and on many random people, the same as asking each town in turn
    rng = np.random.default_rng(0)
    many = np.round(rng.uniform(-60, 260, (2000, 2)) / 10) * 10  # many on borders
    people, town = first_area(shapely.points(many), areas)
    expected = {i: next(j for j, a in enumerate(areas) if a.covers(shapely.Point(p)))
                for i, p in enumerate(many) if any(a.covers(shapely.Point(p)) for a in areas)}
    assert dict(zip(people.tolist(), town.tolist(), strict=True)) == expected
