"""Shared fixtures: the real extracts in ../shared/data and small synthetic graphs."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pyproj
import pytest

from circle15.geo.network.cache import load_network
from circle15.geo.network.graph import Network, build_network

#: a run's own cache (networks, placed people): set before any test module is imported,
#: so that no test writes into the user's cache; removed when the run ends
_RUN_CACHE = Path(tempfile.mkdtemp(prefix="circle15-test-cache-"))
os.environ["CIRCLE15_CACHE_DIR"] = str(_RUN_CACHE)
atexit.register(shutil.rmtree, _RUN_CACHE, ignore_errors=True)

#: test tiers (``make test-fast`` runs the tests with none of these)
TIERS = {
    "browser": "needs the headless Chromium that `make system` installs",
    "postgres": "needs the PostgreSQL server that scripts/pg.sh starts",
    "district": "reads the district-scale city in ../shared/data/district (slow)",
}


def pytest_configure(config: pytest.Config) -> None:
    for name, text in TIERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")


def _tiers_of(path: Path) -> set[str]:
    """The tiers a test module belongs to, by what it uses."""
    text = path.read_text(encoding="utf-8")
    tiers = set()
    if "tests.browser" in text or "chromium" in text:
        tiers.add("browser")
    if "postgres_database" in text:
        tiers.add("postgres")
    if '"district/' in text or "DISTRICT" in text or "district_spec" in text:
        tiers.add("district")
    return tiers


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    memo: dict[Path, set[str]] = {}
    for item in items:
        path = Path(str(item.fspath))
        if path not in memo:
            memo[path] = _tiers_of(path)
        tiers = set(memo[path])
        # the service's client fixture runs every test on SQLite and on PostgreSQL
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "postgres" in callspec.id.split("-"):
            tiers.add("postgres")
        for name in sorted(tiers):
            item.add_marker(getattr(pytest.mark, name))


#: the real extracts; ``CIRCLE15_SHARED_DATA`` points elsewhere if needed
SHARED_DATA = Path(os.environ.get("CIRCLE15_SHARED_DATA")
                   or Path(__file__).resolve().parents[2] / "shared" / "data")


def shared(relative: str) -> Path:
    """A file of ../shared/data; fails (never skips) when it is missing."""
    path = SHARED_DATA / relative
    if not path.is_file():
        pytest.fail(
            f"missing real test data {path}: these tests need the shared data folder "
            "(../shared/data beside the project checkout, see its README)"
        )
    return path


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("network-cache")


@pytest.fixture(scope="session")
def longgang(cache_dir: Path) -> Network:
    return load_network(shared("osm/shenzhen-longgang.osm"), cache_dir=cache_dir)


@pytest.fixture(scope="session")
def liechtenstein(cache_dir: Path) -> Network:
    return load_network(shared("osm/liechtenstein.osm.pbf"), cache_dir=cache_dir)


@pytest.fixture(scope="session")
def andorra(cache_dir: Path) -> Network:
    return load_network(shared("osm/andorra.osm.pbf"), cache_dir=cache_dir)


# A metric frame for hand-made graphs: UTM zone 50N around (117 E, 40 N), so
# that points given in metres come back exactly after projection.
UTM50 = pyproj.CRS.from_epsg(32650)
ORIGIN_XY = (500_000.0, 4_428_000.0)
_to_ll = pyproj.Transformer.from_crs(UTM50, "EPSG:4326", always_xy=True)


def metres_to_lonlat(xy: np.ndarray) -> np.ndarray:
    """Local metres (relative to ORIGIN_XY) -> WGS84 lon/lat, shape (k, 2)."""
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    lon, lat = _to_ll.transform(xy[:, 0] + ORIGIN_XY[0], xy[:, 1] + ORIGIN_XY[1])
    return np.column_stack([lon, lat])


def make_network(
    nodes_xy: list[tuple[float, float]], edges: list[tuple[int, int]], **kwargs: object
) -> Network:
    """A network of straight edges between nodes given in local metres.

    Edge lengths are the exact Euclidean lengths in metres.
    """
    xy = np.asarray(nodes_xy, dtype=float).reshape(-1, 2)
    ll = metres_to_lonlat(xy)
    u = np.array([e[0] for e in edges], dtype=np.int64)
    v = np.array([e[1] for e in edges], dtype=np.int64)
    coords = np.empty((2 * len(edges), 2))
    coords[0::2], coords[1::2] = ll[u], ll[v]
    return build_network(
        node_osmid=np.arange(len(xy), dtype=np.int64),
        node_lonlat=ll,
        edge_u=u,
        edge_v=v,
        edge_length_m=np.linalg.norm(xy[u] - xy[v], axis=1),
        edge_coords_lonlat=coords,
        edge_offsets=np.arange(0, 2 * len(edges) + 1, 2, dtype=np.int64),
        source="synthetic",
        **kwargs,  # type: ignore[arg-type]
    )
