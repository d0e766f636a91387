"""Asking the key servers for a refresh or a resharing (``admin refresh-keys``, ``admin key-servers``).

The administrator only asks: a new serial of the deployment document names the run
(``KeyChange``: kind, board epoch, the key servers that take part and the threshold), the key
servers follow the document and run it among themselves over the escrow server's board
(protocol/dkg.py), and ``admin publish-keys`` publishes their confirmed result. No share passes
through the administrator's machine, and none changes what was escrowed: tags, quorum secrets,
abscissas and matches stay the same, so every entry stays openable.

* refresh: the same key servers and threshold; each deals shares of zero for every secret, and
  shares stolen before the refresh do not combine with shares after it.
* reshare: another set (add, remove or replace key servers, change t); the key servers holding
  shares now each deal shares of their share to the new set. This is also how a lost key server
  is rebuilt: replace it by a fresh one (new keys, the same address if you like), and the others
  give it shares without any secret leaving them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from consilience.datadir import DataDir
from consilience.datadir.share_file import Enrollment
from consilience.errors import InvalidInput
from consilience.i18n import _
from consilience.operator.deployment import load_deployment, next_serial, publish, unseal_admin_key
from consilience.protocol import deployment as dep


def _next_epoch(d: dep.Deployment) -> int:
    return max(d.quorum_keys.epoch if d.quorum_keys is not None else 0,
               d.key_change.epoch if d.key_change is not None else 0) + 1


def _published(d: dep.Deployment) -> dep.QuorumKeys:
    if d.quorum_keys is None:
        raise InvalidInput(_("the key servers have not published their first keys yet; there is nothing to renew "
                             "(wait for 'consilience admin publish-keys' to finish)"))
    return d.quorum_keys


def refresh_keys(root: Path, admin_secret: str) -> dep.Deployment:
    """Ask the key servers for new shares of the same secrets (the document's next serial)."""
    d = load_deployment(root)
    admin_private = unseal_admin_key(root, admin_secret)
    keys = _published(d)
    if list(keys.qualified) != [s.index for s in d.key_servers]:
        missing = sorted(set(s.index for s in d.key_servers) - set(keys.qualified))
        raise InvalidInput(_("key server(s) {indexes} hold no shares, so a refresh cannot include them; reshare "
                             "instead (consilience admin key-servers --threshold {threshold}), which gives every "
                             "listed key server shares", indexes=", ".join(map(str, missing)), threshold=d.threshold))
    change = dep.KeyChange(_next_epoch(d), "refresh", d.threshold,
                           tuple(replace(s, public_share=b"") for s in d.key_servers))
    updated = next_serial(d, key_change=change)
    publish(DataDir(Path(root)), updated, admin_private)
    return updated


def change_key_servers(root: Path, admin_secret: str, *, add: Sequence[Enrollment] = (),
                       remove: Sequence[int] = (), replace_with: Mapping[int, Enrollment] | None = None,
                       threshold: int | None = None) -> dep.Deployment:
    """Ask for a resharing to the current key servers with REMOVE taken out, REPLACE_WITH swapped in
    at their index and ADD at the end (then renumbered 1..n in that order), under THRESHOLD."""
    d = load_deployment(root)
    admin_private = unseal_admin_key(root, admin_secret)
    updated = plan_key_servers(d, add=add, remove=remove, replace_with=replace_with, threshold=threshold)
    publish(DataDir(Path(root)), updated, admin_private)
    return updated


def plan_key_servers(d: dep.Deployment, *, add: Sequence[Enrollment] = (), remove: Sequence[int] = (),
                     replace_with: Mapping[int, Enrollment] | None = None,
                     threshold: int | None = None) -> dep.Deployment:
    """The next serial of ``d`` asking for that resharing, checked as clients check it; nothing written."""
    _published(d)
    replace_with = dict(replace_with or {})
    listed = {s.index for s in d.key_servers}
    unknown = sorted((set(remove) | set(replace_with)) - listed)
    if unknown:
        raise InvalidInput(_("this deployment has no key server {indexes} (consilience admin status lists them)",
                             indexes=", ".join(map(str, unknown))))
    if set(remove) & set(replace_with):
        raise InvalidInput(_("a key server is either removed or replaced, not both"))
    new: list[dep.KeyServer] = []
    for s in d.key_servers:
        if s.index in remove:
            continue
        e = replace_with.get(s.index)
        if e is not None:
            new.append(dep.KeyServer(0, e.url, b"", identity_key=e.identity_key, hpke_public_key=e.hpke_public_key))
        else:
            new.append(replace(s, public_share=b""))
    for e in add:
        new.append(dep.KeyServer(0, e.url, b"", identity_key=e.identity_key, hpke_public_key=e.hpke_public_key))
    servers = tuple(replace(s, index=i) for i, s in enumerate(new, start=1))
    if len({s.identity_key for s in servers}) != len(servers):
        raise InvalidInput(_("a key server would be listed twice (an enrollment of one already listed)"))
    t = threshold if threshold is not None else min(d.threshold, len(servers))
    if not 1 <= t <= len(servers):
        raise InvalidInput(_("the threshold must be between 1 and the number of key servers ({servers_count})",
                             servers_count=len(servers)))
    if not new or (servers == tuple(replace(s, public_share=b"") for s in d.key_servers) and t == d.threshold
                   and threshold is None):
        raise InvalidInput(_("nothing to change: name key servers to add, remove or replace, or a new --threshold"))
    change = dep.KeyChange(_next_epoch(d), "reshare", t, servers)
    return next_serial(d, key_change=change)


__all__ = ["change_key_servers", "plan_key_servers", "refresh_keys"]
