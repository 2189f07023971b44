"""A throwaway PostgreSQL database with PostGIS, on the local server (loopback)."""

from __future__ import annotations

import os
import secrets
import shlex
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import pytest


def _psql(sql: str, db: str = "postgres") -> None:
    cmd = ["psql", "-v", "ON_ERROR_STOP=1", "-qtAc", sql, db]
    if os.geteuid() == 0:
        full = ["su", "postgres", "-c", shlex.join(cmd)]
    else:
        full = ["sudo", "-u", "postgres", *cmd]
    subprocess.run(full, check=True, capture_output=True, text=True, timeout=60)


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new role and database (PostGIS enabled), dropped afterwards; yields its URL."""
    name = f"c15test_{secrets.token_hex(4)}"
    password = secrets.token_hex(8)
    try:
        _psql(f"CREATE ROLE {name} LOGIN PASSWORD '{password}'")
    except (subprocess.CalledProcessError, FileNotFoundError, subprocess.TimeoutExpired) as exc:
        pytest.fail(f"the PostgreSQL server is not available ({exc}); the storage tests need "
                    "it: run `scripts/pg.sh start` (make test does)")
    try:
        _psql(f"CREATE DATABASE {name} OWNER {name}")
        _psql("CREATE EXTENSION IF NOT EXISTS postgis", db=name)
        yield f"postgresql+psycopg://{name}:{password}@127.0.0.1:5432/{name}"
    finally:
        _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        _psql(f"DROP ROLE IF EXISTS {name}")
