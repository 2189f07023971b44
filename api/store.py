"""Persistent stations: SQLite by default (WAL), PostgreSQL/PostGIS when configured.

One SQLAlchemy Core code path for both; PostGIS additionally keeps a point
geometry column in step with lon/lat. Every multi-row write is one
transaction: all of it is stored, or nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    delete,
    event,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import Engine

from circle15.geo.errors import DuplicateIdError

Record = dict[str, Any]

FIELDS = ("id", "name", "address", "amenities", "opening_hours", "status", "lon", "lat")

metadata = MetaData()
stations = Table(
    "stations", metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("address", String(500), nullable=False, default=""),
    Column("amenities", String(500), nullable=False, default=""),
    Column("opening_hours", String(200), nullable=False, default=""),
    Column("status", String(16), nullable=False, default="existing"),
    Column("lon", Float, nullable=False),
    Column("lat", Float, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
#: one row counting writes, so that every worker process sees every change
revisions = Table(
    "station_revision", metadata,
    Column("id", Integer, primary_key=True),
    Column("value", Integer, nullable=False),
)


class StationStore:
    """Stations in a database; ``revision`` changes with every write."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = create_engine(url, future=True)
        self.is_postgres = self.engine.dialect.name == "postgresql"
        if self.engine.dialect.name == "sqlite":
            @event.listens_for(self.engine, "connect")
            def _pragmas(dbapi_conn: Any, _: Any) -> None:
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
                cur.close()
        metadata.create_all(self.engine)
        if self.is_postgres:
            with self.engine.begin() as conn:
                conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
                conn.execute(text("ALTER TABLE stations ADD COLUMN IF NOT EXISTS "
                                  "geom geometry(Point, 4326)"))
        with self.engine.begin() as conn:
            if conn.execute(select(revisions.c.value)).first() is None:
                conn.execute(insert(revisions).values(id=1, value=0))

    @property
    def revision(self) -> int:
        """Changes with every write, in any process using this database."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(revisions.c.value)).scalar_one())

    @staticmethod
    def _bump(conn: Any) -> None:
        conn.execute(update(revisions).values(value=revisions.c.value + 1))

    def _sync_geom(self, conn: Any, ids: Iterable[str]) -> None:
        if self.is_postgres:
            conn.execute(text("UPDATE stations SET geom = ST_SetSRID(ST_MakePoint(lon, lat), 4326)"
                              " WHERE id = ANY(:ids)"), {"ids": list(ids)})

    def all(self) -> list[Record]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(stations).order_by(stations.c.id)).mappings().all()
        return [{k: r[k] for k in FIELDS} for r in rows]

    def get(self, station_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            r = conn.execute(select(stations).where(stations.c.id == station_id)).mappings().first()
        return None if r is None else {k: r[k] for k in FIELDS}

    def insert_many(self, records: list[Record]) -> None:
        """Insert all records in one transaction; existing ids fail all of them."""
        if not records:
            return
        now = datetime.now(UTC)
        ids = [r["id"] for r in records]
        with self.engine.begin() as conn:
            existing = conn.execute(select(stations.c.id).where(stations.c.id.in_(ids))).scalars()
            clash = sorted(existing)
            if clash:
                raise DuplicateIdError(clash)
            conn.execute(insert(stations), [{**r, "updated_at": now} for r in records])
            self._sync_geom(conn, ids)
            self._bump(conn)

    def update(self, station_id: str, record: dict[str, Any]) -> bool:
        with self.engine.begin() as conn:
            res = conn.execute(update(stations).where(stations.c.id == station_id).values(
                **{k: v for k, v in record.items() if k != "id"},
                updated_at=datetime.now(UTC)))
            self._sync_geom(conn, [station_id])
            if res.rowcount:
                self._bump(conn)
        return bool(res.rowcount)

    def delete(self, station_id: str) -> bool:
        with self.engine.begin() as conn:
            res = conn.execute(delete(stations).where(stations.c.id == station_id))
            if res.rowcount:
                self._bump(conn)
        return bool(res.rowcount)

    def count(self) -> int:
        with self.engine.connect() as conn:
            return len(conn.execute(select(stations.c.id)).all())

    def postgis_points(self) -> list[tuple[str, str]]:
        """(id, WKT) of the PostGIS geometry column (PostgreSQL only)."""
        with self.engine.connect() as conn:
            rows = conn.execute(text("SELECT id, ST_AsText(geom) FROM stations ORDER BY id"))
            return [(r[0], r[1]) for r in rows]

    def close(self) -> None:
        self.engine.dispose()
