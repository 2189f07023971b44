"""Typed dependencies: the state, and who the request comes from (users and roles)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from circle15.api.guards import users
from circle15.api.guards.users import ANONYMOUS, User
from circle15.api.state import AppState
from circle15.geo.errors import AuthError, ForbiddenError

_bearer = HTTPBearer(auto_error=False, description="the planner token (writes only)")


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.circle15
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def current_user(
    state: StateDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User | None:
    """Who sends the request: the planner token is an admin; a users-file token is its
    user; no token is nobody (None); a token that is neither is refused."""
    if credentials is None:
        return None
    given = credentials.credentials
    token = state.settings.planner_token
    if token is not None and secrets.compare_digest(given.encode(),
                                                    token.get_secret_value().encode()):
        return User("planner-token", "admin")
    user = users.find(state.settings.users, given)
    if user is None:
        raise AuthError("the token is not valid")
    return user


UserDep = Annotated[User | None, Depends(current_user)]


def needs(role: str) -> Callable[..., User]:
    """A dependency: the request's user, who must hold ``role`` (401 without a token
    where one is needed, 403 with a role that does not allow it)."""
    def check(state: StateDep, user: UserDep) -> User:
        if user is None:
            if role == "viewer" and state.settings.public_read:
                return ANONYMOUS
            if state.settings.planner_token is None and state.settings.users is None:
                raise AuthError("writes are disabled: no planner token or users file is "
                                "configured (set CIRCLE15_PLANNER_TOKEN or CIRCLE15_USERS)")
            raise AuthError(f"this needs a token of a {role} or above: "
                            "Authorization: Bearer <token>")
        if not user.may(role):
            raise ForbiddenError(f"{user.name} is a {user.role}; this needs a {role} or above")
        return user
    return check


def require_planner(state: StateDep, user: UserDep) -> None:
    """Changing the register directly: an admin (the planner token is one)."""
    needs("admin")(state, user)


PlannerDep = Depends(require_planner)
ViewerDep = Depends(needs("viewer"))
