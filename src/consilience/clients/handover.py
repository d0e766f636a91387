"""A counselor hands over what is sealed to them to another counselor (PROTOCOL.md §13.6).

Every envelope of an active entry addressed to this counselor that the other counselor lacks is
opened here, with this counselor's key, and sealed again to the other's public key, which is taken
from the administrator-signed deployment document (never from the server): ``hpke.seal(pk,
plaintext, envelope_info(entry_id, their key id))``. Every message, card and note key wrapped to
this counselor is wrapped again for them under the item's own context
(``conversations.rewrap``). The server keeps what comes back only where they still have none.

This gives nobody anything new. This counselor reads nothing but what was already addressed to
them (the envelopes hold tags' shares, abscissas and wrapped keys of every active entry, and open
no body below its quorum), and the other counselor gets exactly what the document already entitled
them to. So a counselor who leaves, or loses their key, strands nothing: anyone still holding a key
hands over first, and then the administrator revokes the old key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from consilience.clients.counselor import CounselorKeys
from consilience.clients.escrow_client import EscrowClient, counselor_login
from consilience.clients.results import JsonObject
from consilience.crypto import hpke
from consilience.errors import DecryptionError, InvalidInput
from consilience.i18n import _
from consilience.protocol import conversations
from consilience.protocol import messages as m
from consilience.protocol.deployment import Counselor, Deployment
from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.protocol.entry import envelope_info


@dataclass(frozen=True)
class Progress:
    """How far a handover is: what it stored so far, and what it could not re-seal."""

    envelopes: int
    wraps: int
    unreadable: int


@dataclass(frozen=True)
class Handover:
    """What a handover did: to whom, and how many envelopes and item keys they now hold that they did not."""

    to: str
    key_id: str  # b64u
    envelopes: int
    wraps: int
    #: envelopes and wraps addressed to this counselor that did not open with their key (not what an honest
    #: client sends): left as they are
    unreadable: int

    def to_json(self) -> JsonObject:
        return {"to": self.to, "key_id": self.key_id, "envelopes": self.envelopes, "wraps": self.wraps,
                "unreadable": self.unreadable}


def target_of(deployment: Deployment, keys: CounselorKeys, who: str) -> Counselor:
    """The counselor of the document named ``who`` (their name, or their key id as admin status shows it)."""
    value = who.strip()
    found = [c for c in deployment.counselors if b64u_encode(c.key_id) == value] or \
        [c for c in deployment.counselors if c.name == value]
    if not found:
        names = ", ".join(sorted(c.name for c in deployment.counselors if c.key_id != keys.key_id)) or "none"
        raise InvalidInput(_("This deployment lists no counselor named {value}. The other counselors it lists: "
                             "{names}. If the counselor you mean was added just now, ask the administrator whether "
                             "the new deployment document is published.", value=repr(value), names=names))
    if len(found) > 1:
        raise InvalidInput(_("{count} counselors are named {value}: give the key id of the one you mean "
                             "(the administrator's 'consilience admin status' lists them).",
                             count=len(found), value=repr(value)))
    if found[0].key_id == keys.key_id:
        raise InvalidInput(_("That is your own key. Hand over to another counselor of this deployment."))
    return found[0]


def hand_over(keys: CounselorKeys, to: str, *, progress: Callable[[Progress], None] | None = None) -> Handover:
    """Re-seal, for the counselor ``to``, everything addressed to this counselor that they lack."""
    if not keys.server or not keys.token or keys.admin_fingerprint is None:
        raise InvalidInput(_("this key is not connected to a deployment yet; run 'consilience counselor login'"))
    envelopes = wraps = unreadable = 0
    with EscrowClient(keys.server, sign_in=counselor_login(keys.token)) as client:
        deployment = client.deployment(keys.admin_fingerprint, min_serial=keys.min_serial)
        target = target_of(deployment, keys, to)
        after = ""
        while True:
            page = client.handover_page(target.key_id, after)
            sealed, skipped = reseal(page, keys, target)
            unreadable += skipped
            if sealed.envelopes or sealed.wraps:
                client.hand_over(target.key_id, sealed)
                envelopes, wraps = envelopes + len(sealed.envelopes), wraps + len(sealed.wraps)
            if progress is not None:
                progress(Progress(envelopes, wraps, unreadable))
            if page.next_after is None:
                break
            after = page.next_after
    return Handover(target.name, b64u_encode(target.key_id), envelopes, wraps, unreadable)


def reseal(page: m.HandoverPage, keys: CounselorKeys, target: Counselor) -> tuple[m.HandoverSubmission, int]:
    """One page opened with this counselor's key and sealed again for ``target``; and how many did not open."""
    envelopes, wraps, skipped = [], [], 0
    for e in page.envelopes:
        entry_id = b64u_decode(e.entry_id, length=16)
        try:
            plaintext = hpke.open(keys.seed, b64u_decode(e.envelope), envelope_info(entry_id, keys.key_id))
        except DecryptionError:
            skipped += 1
            continue
        ciphertext = hpke.seal(target.public_key, plaintext, envelope_info(entry_id, target.key_id))
        envelopes.append(m.HandoverSealed(entry_id=e.entry_id, ciphertext=b64u_encode(ciphertext)))
    for w in page.wraps:
        try:
            _scope, wrap = conversations.rewrap(conversations.Kind(w.kind), b64u_decode(w.scope, length=16),
                                           b64u_decode(w.item_id, length=16), b64u_decode(w.wrap), keys.seed,
                                           target.public_key, keys.key_id)
        except (DecryptionError, InvalidInput):
            skipped += 1
            continue
        wraps.append(m.HandoverWrapped(kind=w.kind, item_id=w.item_id, wrap=b64u_encode(wrap)))
    return m.HandoverSubmission(envelopes=envelopes, wraps=wraps), skipped
