"""Persistent stations: SQLite by default (WAL), PostgreSQL/PostGIS when configured.

One SQLAlchemy Core code path for both; PostGIS additionally keeps a point
geometry column in step with lon/lat. Every multi-row write is one
transaction: all of it is stored, or nothing. The table refuses rows that
could never be read back (coordinates out of range, oversized text) by its
own CHECK constraints. Storage faults (disk full, read-only, a database file
deleted or replaced under a running service) become a :class:`StorageError`
(503) with a plain message, and a write is never reported as done unless it
was committed to the database the service opened.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DataError, IntegrityError, OperationalError, SQLAlchemyError

from circle15.geo.errors import DuplicateIdError, InputError, StorageError

log = logging.getLogger(__name__)

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
    # a row these would refuse could break every read; the API checks first, the
    # database makes sure
    CheckConstraint("lon >= -180 AND lon <= 180 AND lat >= -90 AND lat <= 90",
                    name="stations_lonlat_range"),
    CheckConstraint("length(id) BETWEEN 1 AND 64 AND length(name) BETWEEN 1 AND 200 "
                    "AND length(opening_hours) <= 200 AND length(address) <= 500 "
                    "AND length(amenities) <= 500", name="stations_text_length"),
    CheckConstraint("status IN ('existing', 'planned', 'closed')", name="stations_status"),
)
#: scenarios: a name, the station records they started from, and a version that every
#: change moves on (the ETag; a write names the version it saw)
scenarios = Table(
    "scenarios", metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("origin", String(64), nullable=False),
    Column("base", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
#: every change to a scenario, in order: its edits (an undone one stays, marked) and
#: what happened to it (created, adopted), with who and when: the audit trail
scenario_log = Table(
    "scenario_log", metadata,
    Column("n", Integer, primary_key=True, autoincrement=True),
    Column("scenario_id", String(64), nullable=False, index=True),
    Column("action", String(16), nullable=False),
    Column("payload", Text, nullable=False, default="{}"),
    Column("user", String(100), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("undone", Integer, nullable=False, default=0),
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
        self.path: Path | None = None
        self._file_id: tuple[int, int] | None = None
        try:
            self.engine: Engine = create_engine(url, future=True)
            self.is_postgres = self.engine.dialect.name == "postgresql"
            if self.engine.dialect.name == "sqlite":
                self._open_sqlite()
            metadata.create_all(self.engine)
            if self.is_postgres:
                with self.engine.begin() as conn:
                    conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
                    conn.execute(text("ALTER TABLE stations ADD COLUMN IF NOT EXISTS "
                                      "geom geometry(Point, 4326)"))
            with self.engine.begin() as conn:
                if conn.execute(select(revisions.c.value)).first() is None:
                    conn.execute(insert(revisions).values(id=1, value=0))
        except SQLAlchemyError as exc:
            msg = (f"cannot open the station database {self._where()}: "
                   f"{_plain(exc)}")
            raise StorageError(msg) from exc
        if self.path is not None:
            self._file_id = _file_id(self.path)

    def _open_sqlite(self) -> None:
        database = make_url(self.url).database
        if database and database != ":memory:":
            self.path = Path(database).resolve()
            if not self.path.parent.is_dir():
                msg = f"cannot open the station database {self.path}: its folder does not exist"
                raise StorageError(msg)

        @event.listens_for(self.engine, "connect")
        def _pragmas(dbapi_conn: Any, _: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

    def where(self) -> str:
        """The database as a person can find it: a file path, or the URL without password."""
        return self._where()

    def _where(self) -> str:
        if self.path is not None:
            return str(self.path)
        return make_url(self.url).render_as_string(hide_password=True)

    def _check_file(self) -> None:
        """Refuse to write when the SQLite file was deleted or replaced under us: the
        open connections would write into the void (or into a new, empty file)."""
        if self.path is None or self._file_id is None:
            return
        now = _file_id(self.path)
        if now != self._file_id:
            what = "deleted" if now is None else "replaced"
            msg = (f"the station database {self.path} was {what} while the service was "
                   "running; writes are refused so that none is lost. Restore the file or "
                   "restart the service")
            raise StorageError(msg)
        for name, what in _side_files_tampered(self.path):
            msg = (f"the station database's {name} file was {what} while the service was "
                   "running (SQLite keeps recent writes there); writes are refused so that "
                   "none is lost. Restart the service")
            raise StorageError(msg)

    @contextmanager
    def _writing(self) -> Iterator[Any]:
        """One write transaction, with storage faults said plainly."""
        self._check_file()
        try:
            with self.engine.begin() as conn:
                yield conn
        except (DuplicateIdError, InputError, StorageError):
            raise
        except IntegrityError as exc:
            raise InputError("stations", f"the database refused the row: {_plain(exc)}") from exc
        except DataError as exc:
            raise InputError("stations", f"the database refused a value: {_plain(exc)}") from exc
        except (OperationalError, SQLAlchemyError, OSError) as exc:
            raise StorageError(f"cannot write to the station database {self._where()}: "
                               f"{_plain(exc)}") from exc
        self._checkpoint()

    def _checkpoint(self) -> None:
        """Move a committed write from the write-ahead log into the database file before
        it is acknowledged, so that a log deleted afterwards takes no acknowledged write
        along. The write is committed either way: a checkpoint that fails (a full disk)
        leaves it in the log, where SQLite finds it, and is only logged."""
        if self.path is None:
            return
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(FULL)")
        except (SQLAlchemyError, OSError) as exc:
            log.warning("checkpoint of %s after a write failed: %s", self.path, _plain(exc))

    @contextmanager
    def _reading(self) -> Iterator[Any]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except (OperationalError, SQLAlchemyError, OSError) as exc:
            raise StorageError(f"cannot read the station database {self._where()}: "
                               f"{_plain(exc)}") from exc

    #: one write transaction / one read, for the scenario store sharing this database
    writing = _writing
    reading = _reading

    def health(self) -> str:
        """"ok", or what is wrong with the store."""
        try:
            self._check_file()
            _ = self.revision
        except StorageError as exc:
            return str(exc)
        return "ok"

    @property
    def revision(self) -> int:
        """Changes with every write, in any process using this database."""
        with self._reading() as conn:
            return int(conn.execute(select(revisions.c.value)).scalar_one())

    @staticmethod
    def _bump(conn: Any) -> None:
        conn.execute(update(revisions).values(value=revisions.c.value + 1))

    def _sync_geom(self, conn: Any, ids: Iterable[str]) -> None:
        if self.is_postgres:
            conn.execute(text("UPDATE stations SET geom = ST_SetSRID(ST_MakePoint(lon, lat), 4326)"
                              " WHERE id = ANY(:ids)"), {"ids": list(ids)})

    def all(self) -> list[Record]:
        with self._reading() as conn:
            rows = conn.execute(select(stations).order_by(stations.c.id)).mappings().all()
        return [{k: r[k] for k in FIELDS} for r in rows]

    def get(self, station_id: str) -> dict[str, Any] | None:
        with self._reading() as conn:
            r = conn.execute(select(stations).where(stations.c.id == station_id)).mappings().first()
        return None if r is None else {k: r[k] for k in FIELDS}

    def insert_many(self, records: list[Record]) -> None:
        """Insert all records in one transaction; existing ids fail all of them."""
        if not records:
            return
        now = datetime.now(UTC)
        ids = [r["id"] for r in records]
        try:
            with self._writing() as conn:
                existing = conn.execute(
                    select(stations.c.id).where(stations.c.id.in_(ids))).scalars()
                clash = sorted(existing)
                if clash:
                    raise DuplicateIdError(clash)
                conn.execute(insert(stations), [{**r, "updated_at": now} for r in records])
                self._sync_geom(conn, ids)
                self._bump(conn)
        except InputError as exc:
            # a concurrent writer took an id between our check and our insert
            clash = sorted({r["id"] for r in self.all()} & set(ids))
            if clash:
                raise DuplicateIdError(clash) from exc
            raise

    def update(self, station_id: str, record: dict[str, Any]) -> bool:
        with self._writing() as conn:
            res = conn.execute(update(stations).where(stations.c.id == station_id).values(
                **{k: v for k, v in record.items() if k != "id"},
                updated_at=datetime.now(UTC)))
            self._sync_geom(conn, [station_id])
            if res.rowcount:
                self._bump(conn)
        return bool(res.rowcount)

    def delete(self, station_id: str) -> bool:
        with self._writing() as conn:
            res = conn.execute(delete(stations).where(stations.c.id == station_id))
            if res.rowcount:
                self._bump(conn)
        return bool(res.rowcount)

    def count(self) -> int:
        with self._reading() as conn:
            return len(conn.execute(select(stations.c.id)).all())

    def replace_all(self, records: list[Record]) -> None:
        """The register becomes ``records``, in one transaction (adopting a scenario)."""
        now = datetime.now(UTC)
        with self._writing() as conn:
            conn.execute(delete(stations))
            if records:
                conn.execute(insert(stations), [{**r, "updated_at": now} for r in records])
                self._sync_geom(conn, [r["id"] for r in records])
            self._bump(conn)

    def postgis_points(self) -> list[tuple[str, str]]:
        """(id, WKT) of the PostGIS geometry column (PostgreSQL only)."""
        with self.engine.connect() as conn:
            rows = conn.execute(text("SELECT id, ST_AsText(geom) FROM stations ORDER BY id"))
            return [(r[0], r[1]) for r in rows]

    def close(self) -> None:
        self.engine.dispose()


def _side_files_tampered(path: Path) -> list[tuple[str, str]]:
    """The database's files this process holds open that were since deleted or replaced
    on disk (its write-ahead log and shared memory above all): SQLite would go on
    writing into them and the writes would vanish with the process. Read from
    /proc/self/fd (Linux); elsewhere nothing is found."""
    wanted = {f"{path}-wal": "-wal", f"{path}-shm": "-shm", f"{path}-journal": "-journal"}
    found = []
    try:
        fds = os.listdir("/proc/self/fd")
    except OSError:
        return []
    for fd in fds:
        link = f"/proc/self/fd/{fd}"
        try:
            target = os.readlink(link)
        except OSError:
            continue
        name = target.removesuffix(" (deleted)")
        if name not in wanted:
            continue
        if target.endswith(" (deleted)"):
            found.append((wanted[name], "deleted"))
            continue
        try:
            held, on_disk = os.stat(link), os.stat(name)
        except OSError:
            found.append((wanted[name], "deleted"))
            continue
        if (held.st_dev, held.st_ino) != (on_disk.st_dev, on_disk.st_ino):
            found.append((wanted[name], "replaced"))
    return found


def _file_id(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino)


def _plain(exc: BaseException) -> str:
    """The database's own reason, in one line, without SQL or parameters."""
    orig = getattr(exc, "orig", None) or exc
    text_ = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    return text_[:300]
