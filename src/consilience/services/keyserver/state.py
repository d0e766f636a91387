"""What every request handler shares: the key server's keys, the shares in force, the budgets."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from consilience.datadir.share_file import KeyServerKeys, Membership
from consilience.protocol.evaluation import ReplayGuard
from consilience.services.keyserver.quorum_store import Holder
from consilience.services.keyserver.settings import Settings
from consilience.services.limits import Budgets


@dataclass
class KeyServerState:
    settings: Settings
    #: its identity key (requests are addressed to it) and HPKE key (for the key generation)
    keys: KeyServerKeys
    #: the deployment it serves (``keyserver.json``): account certificates are checked against the
    #: administrator's key and the deployment id there
    member: Membership
    #: the budgets of ``settings.limits``
    limits: Budgets
    #: the shares in force (None before the key generation, or once the document no longer lists this
    #: key server), and what the key generation is doing
    quorum: Holder = field(default_factory=Holder)
    #: requests answered within the freshness window: each is answered once
    replay: ReplayGuard = field(default_factory=ReplayGuard)
    #: whether the warning that the global budget is nearly spent was logged since it last recovered
    global_warned: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def admin_key(self) -> bytes:
        return self.member.admin_key

    @property
    def deployment_id(self) -> bytes:
        return self.member.deployment_id

    @property
    def index(self) -> int:
        """Which key server this is in the set in force (0 while it holds no shares)."""
        held = self.quorum.get()
        return held.index if held is not None else 0


def get_state(request: Request) -> KeyServerState:
    state: KeyServerState = request.app.state.keyserver
    return state


#: Handler parameter type: the application's shared state.
State = Annotated[KeyServerState, Depends(get_state)]
