"""People and roles: who may read, who may plan, who may change the register.

Users live in a JSON file that ``CIRCLE15_USERS`` names, each with a role and a
hashed token (a random token has enough entropy for a salted SHA-256; the token
itself is printed once, by ``circle15 users add``, and stored nowhere).

- ``viewer`` reads (everyone does, unless ``CIRCLE15_PUBLIC_READ=false``);
- ``planner`` also creates and edits scenarios;
- ``admin`` also adopts a scenario into the register, and changes the register.

``CIRCLE15_PLANNER_TOKEN`` keeps working: it is one admin.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from circle15.geo.errors import InputError

ROLES = ("viewer", "planner", "admin")
_NAME = re.compile(r"^[\w.@-]{1,64}$")


@dataclass(frozen=True)
class User:
    name: str
    role: str

    def may(self, role: str) -> bool:
        """Whether this user's role includes ``role``."""
        return ROLES.index(self.role) >= ROLES.index(role)


ANONYMOUS = User("anonymous", "viewer")


def _digest(salt: str, token: str) -> str:
    return hashlib.sha256(f"{salt}:{token}".encode()).hexdigest()


def read_users(path: Path | None) -> list[dict[str, str]]:
    if path is None or not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(str(path), f"not a readable users file ({exc})") from exc
    users = data.get("users") if isinstance(data, dict) else None
    if not isinstance(users, list):
        raise InputError(str(path), 'expected {"users": [...]}')
    return [u for u in users if isinstance(u, dict)]


def find(path: Path | None, token: str) -> User | None:
    """The user whose token this is (compared in constant time), or None."""
    for u in read_users(path):
        if secrets.compare_digest(_digest(str(u.get("salt", "")), token),
                                  str(u.get("sha256", ""))):
            role = str(u.get("role"))
            return User(str(u.get("name")), role if role in ROLES else "viewer")
    return None


def add_user(path: Path, name: str, role: str) -> str:
    """Add ``name`` with ``role`` to the users file (made if missing) and return their new
    token: the only time it exists in clear."""
    if role not in ROLES:
        raise InputError("role", f"{role!r} is not a role; use one of {', '.join(ROLES)}")
    if not _NAME.match(name):
        raise InputError("name", f"{name!r}: use at most 64 letters, digits and _ . @ -")
    users = read_users(path)
    if any(u.get("name") == name for u in users):
        raise InputError(str(path), f"there is already a user named {name!r}")
    token = secrets.token_urlsafe(32)
    salt = secrets.token_hex(8)
    users.append({"name": name, "role": role, "salt": salt, "sha256": _digest(salt, token)})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"users": users}, indent=1, ensure_ascii=False), encoding="utf-8")
    os.chmod(tmp, 0o600)
    tmp.replace(path)
    return token
