"""The register at start-up: filled from the seed file (or the demo's examples) when
empty, and refused when none of its stations is in the service's area."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import shapely

from circle15.api.settings import Settings
from circle15.api.store import StationStore
from circle15.geo.errors import InputError, SettingsError, ref
from circle15.geo.inputs.stations import Stations
from circle15.usecases import Area
from circle15.usecases.area import read_station_file, stations_of_records


def check_register(store: StationStore, settings: Settings, area: Area) -> None:
    """Refuse to serve a register none of whose stations belongs to this area (a database
    left by another area, or one named for another): saying which database, how many
    stations it holds and where they are, and that the seed file was not imported."""
    from circle15.geo.snapping.placement import km_beyond

    records = store.all()
    try:
        stations_of_records(area, records, source="database", check_crs=False)
        return
    except InputError as exc:
        bad = {p.row for p in exc.problems if p.row is not None}
        if len(bad) < len(records) or exc.total < len(records):
            return  # some belong here: the rest are skipped and listed in /health
    lon = np.array([float(r["lon"]) for r in records])
    lat = np.array([float(r["lat"]) for r in records])
    xy = area.network.project(lon, lat)
    if shapely.contains_xy(area.network.hull, xy[:, 0], xy[:, 1]).any():
        return  # stations of this area, refused for other reasons: listed in /health
    beyond = km_beyond(area.network, lon, lat)
    seed = (f"; the seed file {settings.stations_seed} ({ref('stations_seed')}) was not "
            "imported, because the database is not empty" if settings.stations_seed else "")
    raise SettingsError(
        f"{ref('database_url')} {store.where()} holds {len(records):,} stations, none of them "
        f"in this area ({area.source}): they lie around lon {np.median(lon):.3f}, lat "
        f"{np.median(lat):.3f}, {float(np.min(beyond)):,.1f} km or more beyond its edge"
        f"{seed}. Give this area a database of its own ({ref('data_dir')} or "
        f"{ref('database_url')}), or empty that one")


def seed(store: StationStore, settings: Settings, area: Area) -> None:
    """Fill an empty database: the configured seed file, or the demo's examples."""
    import tempfile

    if settings.stations_seed:
        stations = read_station_file(area, settings.stations_seed)
    elif not settings.network:
        from circle15.geo.inputs.demo import write_demo_inputs

        with tempfile.TemporaryDirectory() as tmp:
            stations = read_station_file(
                area, write_demo_inputs(area.network, Path(tmp)).stations_csv)
    else:
        return
    if len(stations) > settings.max_stations:
        raise InputError(str(settings.stations_seed), f"{len(stations):,} stations, more than "
                         f"the {settings.max_stations:,} this service holds "
                         f"({ref('max_stations')})")
    store.insert_many(records_of(stations))


def records_of(stations: Stations) -> list[dict[str, object]]:
    """Database records of validated stations."""
    f = stations.frame
    return [{"id": r["id"], "name": r["name"], "address": r["address"],
             "amenities": r["amenities"], "opening_hours": r["opening_hours"],
             "status": r["status"], "lon": float(r["lon"]), "lat": float(r["lat"])}
            for r in f.to_dict("records")]
