"""A key-server operator's own steps, on their own machine: ``consilience keyserver init`` and ``join``.

``init`` generates the key server's identity (Ed25519) and HPKE (X-Wing) keys into its folder and
writes ``enrollment.json``: its address and the public halves, signed with the identity key. The
operator hands that file to the administrator (e-mail is fine: nothing in it is secret, and the
signature catches a damaged copy), who lists the key server in the deployment document
(``admin init --key-server`` or ``admin key-servers --add``).

``join`` fetches the signed deployment document from the escrow server, checks it against the
administrator's fingerprint (which the administrator gives the operator, as reporters get it in
their invites) and that it lists this key server's keys, and writes ``keyserver.json``. From then
on the key server follows the document by itself: it takes part in the key generation, every
refresh and every resharing the administrator asks for, and erases its shares when it is removed.
No step here, or anywhere, writes a share: shares exist only as the key servers' own result.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from consilience.clients.board import BoardClient, BoardError
from consilience.datadir import KeyServerFolder, share_file
from consilience.datadir.share_file import Enrollment, Membership
from consilience.errors import InvalidInput
from consilience.i18n import _
from consilience.protocol import deployment as dep
from consilience.protocol.encoding import b64u_decode


def init_keyserver(folder: KeyServerFolder, url: str) -> Enrollment:
    """Fresh keys in FOLDER (which must not hold any) and the enrollment for the administrator."""
    if not url.startswith(("https://", "http://")):
        raise InvalidInput(_("{url} is not an address: give the https:// address other machines reach this key "
                             "server at, e.g. https://keys.example.org:8101",
                             url=repr(url)))
    if folder.identity_key.exists() or folder.hpke_key.exists():
        raise InvalidInput(_("{root} already holds a key server's keys; it keeps them (they are never "
                             "overwritten). Choose another folder for a new key server",
                             root=folder.root))
    folder.root.mkdir(parents=True, exist_ok=True)
    keys = share_file.generate_keys(folder.identity_key, folder.hpke_key)
    return share_file.write_enrollment(folder.enrollment, url.rstrip("/"), keys)


@dataclass(frozen=True)
class Joined:
    membership: Membership
    deployment: dep.Deployment
    #: how the document lists this key server now: in force, asked to join by a change, or not at all
    listed_as: str


def join(folder: KeyServerFolder, escrow_url: str, admin_fingerprint: str,
         client: BoardClient | None = None) -> Joined:
    """Check the published document against the administrator's fingerprint and write keyserver.json."""
    try:
        fingerprint = b64u_decode(admin_fingerprint.strip(), length=16, field="fingerprint")
    except InvalidInput:
        raise InvalidInput(_("that is not an administrator's fingerprint (22 characters, as 'consilience admin "
                             "status' shows it); a character may be mistyped")) from None
    keys = share_file.read_keys(folder.identity_key, folder.hpke_key)
    own = client is None
    board = client or BoardClient(escrow_url)
    try:
        published = board.published()
        d = dep.verify(published, fingerprint)
    except BoardError as exc:
        raise InvalidInput(_("could not read the deployment document: {exc}", exc=exc)) from exc
    finally:
        if own:
            board.close()
    if any(s.identity_key == keys.identity_key for s in d.key_servers):
        listed = "in force"
    elif d.key_change is not None and any(s.identity_key == keys.identity_key for s in d.key_change.servers):
        listed = "joining"
    else:
        raise InvalidInput(_("the deployment document does not list this key server yet: send {enrollment} to the "
                             "administrator, who adds it, then run this again",
                             enrollment=folder.enrollment))
    member = Membership(b64u_decode(published["admin_key"], length=32, field="admin_key"), d.deployment_id,
                        escrow_url.rstrip("/"))
    share_file.write(folder.membership, member)
    return Joined(member, d, listed)


def folder_at(path: Path) -> KeyServerFolder:
    return KeyServerFolder(Path(path), 0)


__all__ = ["Joined", "folder_at", "init_keyserver", "join"]
