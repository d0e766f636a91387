"""What every request handler shares: the share in force, the key server's keys, the quorum shares, the budgets."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from consilience.datadir.share_file import KeyServerKeys
from consilience.protocol.evaluation import ReplayGuard
from consilience.services.keyserver.quorum_store import Holder
from consilience.services.keyserver.settings import Settings
from consilience.services.keyserver.share import ShareStore
from consilience.services.limits import Budgets


@dataclass
class KeyServerState:
    settings: Settings
    shares: ShareStore
    #: its identity key (requests are addressed to it) and HPKE key (for the key generation)
    keys: KeyServerKeys
    #: the administrator's public key and the deployment id, from the share file it started with:
    #: account certificates are checked against them
    admin_key: bytes
    deployment_id: bytes
    #: the budgets of ``settings.limits``
    limits: Budgets
    #: Which key server this is (1..n), from the share it started with.
    index: int
    #: the key generation's result once confirmed (None before), and what the key generation is doing
    quorum: Holder = field(default_factory=Holder)
    #: requests answered within the freshness window: each is answered once
    replay: ReplayGuard = field(default_factory=ReplayGuard)
    #: whether the warning that the global budget is nearly spent was logged since it last recovered
    global_warned: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


def get_state(request: Request) -> KeyServerState:
    state: KeyServerState = request.app.state.keyserver
    return state


#: Handler parameter type: the application's shared state.
State = Annotated[KeyServerState, Depends(get_state)]
