"""Scenarios in the service's database (beside the register, in the same tables' store):
created from the register or another scenario, edited under a version (ETag) that
every change moves on, with the audit trail of who did what and when."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update

from circle15.api.store import Record, StationStore, scenario_log, scenarios
from circle15.geo.errors import Circle15Error, NotFoundError

#: the actions of the trail that are edits (the rest say what happened to the scenario)
EDITS = ("add", "remove", "move", "update")


class StaleVersionError(Circle15Error):
    """A write that names a version of the scenario other than the current one (412)."""

    def __init__(self, scenario_id: str, given: str | None, current: int) -> None:
        what = "no If-Match header" if not given else f"If-Match {given}"
        super().__init__(f"scenario {scenario_id} is at version {etag(current)}; the write sent "
                         f"{what}: reload it and apply your change again")
        self.current = current


def etag(version: int) -> str:
    return f'"{version}"'


class ScenarioStore:
    """The scenarios of one station store (the same database and its write rules)."""

    def __init__(self, store: StationStore) -> None:
        self.store = store

    def create(self, name: str, origin: str, base: list[Record], user: str) -> dict[str, Any]:
        sid = secrets.token_hex(6)
        now = datetime.now(UTC)
        with self.store.writing() as conn:
            conn.execute(insert(scenarios).values(
                id=sid, name=name, origin=origin, base=json.dumps(base, ensure_ascii=False),
                version=1, created_by=user, created_at=now))
            conn.execute(insert(scenario_log).values(
                scenario_id=sid, action="create", payload=json.dumps({"from": origin}),
                user=user, at=now, undone=0))
        return self.get(sid)

    def all(self) -> list[dict[str, Any]]:
        with self.store.reading() as conn:
            rows = conn.execute(select(scenarios.c.id, scenarios.c.name, scenarios.c.origin,
                                       scenarios.c.version, scenarios.c.created_by,
                                       scenarios.c.created_at)
                                .order_by(scenarios.c.created_at)).mappings().all()
        return [{**r, "created_at": r["created_at"].isoformat()} for r in rows]

    def get(self, sid: str) -> dict[str, Any]:
        """A scenario with its base records and its edits in force, in order."""
        with self.store.reading() as conn:
            row = conn.execute(select(scenarios).where(scenarios.c.id == sid)).mappings().first()
            if row is None:
                raise NotFoundError(f"no scenario with id {sid!r}")
            log = conn.execute(select(scenario_log).where(scenario_log.c.scenario_id == sid)
                               .order_by(scenario_log.c.n)).mappings().all()
        edits = [{"n": e["n"], **json.loads(e["payload"]), "op": e["action"],
                  "user": e["user"], "at": e["at"].isoformat()}
                 for e in log if e["action"] in EDITS and not e["undone"]]
        return {"id": row["id"], "name": row["name"], "origin": row["origin"],
                "version": row["version"], "created_by": row["created_by"],
                "created_at": row["created_at"].isoformat(), "base": json.loads(row["base"]),
                "edits": edits}

    def history(self, sid: str) -> list[dict[str, Any]]:
        self.get(sid)
        with self.store.reading() as conn:
            log = conn.execute(select(scenario_log).where(scenario_log.c.scenario_id == sid)
                               .order_by(scenario_log.c.n)).mappings().all()
        return [{"n": e["n"], "action": e["action"], "user": e["user"],
                 "at": e["at"].isoformat(), "undone": bool(e["undone"]),
                 **json.loads(e["payload"])} for e in log]

    def _advance(self, conn: Any, sid: str, expected: str | None) -> int:
        """Move the version on if it is the one the write saw (atomically); else 412."""
        current = conn.execute(select(scenarios.c.version).where(
            scenarios.c.id == sid)).scalar_one_or_none()
        if current is None:
            raise NotFoundError(f"no scenario with id {sid!r}")
        wanted = (expected or "").strip().removeprefix("W/")
        if wanted != etag(current):
            raise StaleVersionError(sid, expected, current)
        done = conn.execute(update(scenarios).where(
            (scenarios.c.id == sid) & (scenarios.c.version == current)).values(
            version=current + 1))
        if done.rowcount != 1:  # another write won the race
            raise StaleVersionError(sid, expected, current + 1)
        return current + 1

    def log(self, sid: str, expected: str | None, action: str, payload: dict[str, Any],
            user: str) -> int:
        """Record one change under ``If-Match``; the new version."""
        with self.store.writing() as conn:
            version = self._advance(conn, sid, expected)
            conn.execute(insert(scenario_log).values(
                scenario_id=sid, action=action, payload=json.dumps(payload, ensure_ascii=False),
                user=user, at=datetime.now(UTC), undone=0))
        return version

    def undo(self, sid: str, expected: str | None, user: str) -> int:
        """Undo the last edit in force (the trail keeps it, marked undone)."""
        with self.store.writing() as conn:
            version = self._advance(conn, sid, expected)
            last = conn.execute(select(scenario_log.c.n).where(
                (scenario_log.c.scenario_id == sid) & (scenario_log.c.undone == 0)
                & scenario_log.c.action.in_(EDITS)).order_by(scenario_log.c.n.desc())
                .limit(1)).scalar_one_or_none()
            if last is None:
                raise NotFoundError(f"scenario {sid} has no edit to undo")
            conn.execute(update(scenario_log).where(scenario_log.c.n == last).values(undone=1))
            conn.execute(insert(scenario_log).values(
                scenario_id=sid, action="undo", payload=json.dumps({"edit": last}), user=user,
                at=datetime.now(UTC), undone=0))
        return version

    def delete(self, sid: str, user: str) -> None:
        from sqlalchemy import delete

        with self.store.writing() as conn:
            gone = conn.execute(delete(scenarios).where(scenarios.c.id == sid)).rowcount
            if not gone:
                raise NotFoundError(f"no scenario with id {sid!r}")
            conn.execute(insert(scenario_log).values(
                scenario_id=sid, action="delete", payload="{}", user=user,
                at=datetime.now(UTC), undone=0))
