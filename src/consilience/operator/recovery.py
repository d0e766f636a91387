"""The administrator's unlock code for a paused recovery (PROTOCOL.md §14.1).

After the limit of tries that did not end in a recovery, each key server pauses recovery for that
account handle. The person asks the administrator, who should first make sure it is really them
(by the way the deployment knows them, never by the handle alone: the handle is not a secret from
whoever saw it written down), then makes a code. The code is signed by the administrator's key, good
for 7 days and once per key server; it sets the count back to 0, so ten more tries.
"""

from __future__ import annotations

from pathlib import Path

from consilience.operator.deployment import load_deployment, unseal_admin_key
from consilience.protocol import recovery


def unlock_code(root: Path, admin_secret: str, handle_text: str) -> str:
    """``cnslu1.…`` for ``handle_text``; a wrong passphrase or a mistyped handle fails before anything is signed."""
    handle = recovery.parse_handle(handle_text)
    d = load_deployment(Path(root))
    return recovery.make_unlock_code(unseal_admin_key(Path(root), admin_secret), d.deployment_id, handle)


__all__ = ["unlock_code"]
