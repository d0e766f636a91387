"""What every request handler shares: the share in force, the token issuer's key, the budgets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from consilience.services.keyserver.settings import Settings
from consilience.services.keyserver.share import ShareStore
from consilience.services.limits import Budgets


@dataclass
class KeyServerState:
    settings: Settings
    shares: ShareStore
    #: The escrow server's key that signs access tokens, as the share file named it at start-up.
    token_issuer_key: bytes
    #: the budgets of ``settings.limits``
    limits: Budgets
    #: Which key server this is (1..n), from the share it started with.
    index: int


def get_state(request: Request) -> KeyServerState:
    state: KeyServerState = request.app.state.keyserver
    return state


#: Handler parameter type: the application's shared state.
State = Annotated[KeyServerState, Depends(get_state)]
