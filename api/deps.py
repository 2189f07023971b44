"""Typed dependencies: the state, and the planner token for writes."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from circle15.api.state import AppState
from circle15.geo.errors import AuthError

_bearer = HTTPBearer(auto_error=False, description="the planner token (writes only)")


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.circle15
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def require_planner(
    state: StateDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Refuse a write unless it carries the configured planner token."""
    token = state.settings.planner_token
    if token is None:
        raise AuthError("writes are disabled: no planner token is configured "
                        "(set CIRCLE15_PLANNER_TOKEN)")
    if credentials is None:
        raise AuthError("this write needs the planner token: Authorization: Bearer <token>")
    if not secrets.compare_digest(credentials.credentials.encode(),
                                  token.get_secret_value().encode()):
        raise AuthError("the planner token is not valid")


PlannerDep = Depends(require_planner)
