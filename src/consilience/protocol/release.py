"""The counselor's side of a match: check shares without a search, recover quorum secrets, open entries.

Shares come from reporters' devices, so any of them may be bogus. Protocol
v1 searched subsets of shares for one that reproduced a key-check value; a
single account with enough bogus entries exhausted the search and blocked
every honest release. Here the entry being opened anchors the check: the
shares on its own base (the class of :func:`protocol.quorum.open_class`)
are found with batched pairing checks, without a majority and without a
cap, and the entry opens when that class has q distinct abscissas. An
attacker's shares, on any other base, are named and cannot shrink the class
(PROTOCOL.md §7, §8).

Counselors see no account ids: an entry's abscissa, a per-account pseudonym
that only the key servers can map to an account, is all that tells two
entries of one account apart.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from consilience.crypto import aead, hpke
from consilience.crypto.bls12381 import Scalar
from consilience.errors import ConsilienceError, DecryptionError
from consilience.i18n import _, _n
from consilience.protocol import quorum
from consilience.protocol.deployment import Deployment
from consilience.protocol.entry import (
    WRAP_AAD,
    Body,
    EnvelopeContent,
    envelope_info,
    open_body,
    parse_envelope,
    wrap_context,
)


@dataclass(frozen=True)
class MatchedEntry:
    """One entry as the server hands it to a counselor: no account id."""

    entry_id: bytes
    quorum: int
    released: bool
    envelope: bytes
    body: bytes | None


@dataclass(frozen=True)
class OpenedEntry:
    entry_id: bytes
    #: the account's abscissa (32 bytes): the same for every entry of one account, meaningless otherwise
    abscissa: bytes
    quorum: int
    body: Body


@dataclass
class OpenResult:
    opened: list[OpenedEntry] = field(default_factory=list)
    #: entry id -> why it could not be opened (released entries only)
    failed: dict[bytes, str] = field(default_factory=dict)
    #: entry ids whose envelope or share is not what an honest client sends
    bogus: set[bytes] = field(default_factory=set)
    #: batched pairing checks run, for benchmarks and the curious
    checks: int = 0


def open_match(tag: bytes, entries: list[MatchedEntry], counselor_seed: bytes, key_id: bytes,
               deployment: Deployment) -> OpenResult:
    """Open every released entry of the match under ``tag`` whose class reaches its quorum.

    Shares are named bogus only relative to a class that opened (and whose
    secret then opened its entry): relative to an attacker's own released
    entry, honest shares would look foreign.
    """
    result = OpenResult()
    params = deployment.quorum_parameters()
    contents: dict[bytes, EnvelopeContent] = {}
    for e in entries:
        try:
            content = parse_envelope(hpke.open(counselor_seed, e.envelope, envelope_info(e.entry_id, key_id)))
        except ConsilienceError:
            result.bogus.add(e.entry_id)
            continue
        if (content.entry_id != e.entry_id or content.quorum != e.quorum or content.section(tag) is None
                or content.quorum_range != deployment.quorum_range or content.key_epoch != deployment.key_epoch):
            result.bogus.add(e.entry_id)
            continue
        contents[e.entry_id] = content

    # Per level, the classes found so far: members, and the secret if the class opened. Classes are
    # disjoint (one base each), so a later anchor is checked only against shares in no known class,
    # and an entry already in a known class needs no check of its own.
    classes: dict[int, list[tuple[frozenset[bytes], quorum.QuorumSecret | None, str]]] = {}
    named: set[bytes] = set()
    # Anchors in a random order the submitters cannot predict: an attacker's entry anchored first costs a
    # check against every share (nothing is on its base), one anchored after the honest class was found
    # only against the shares in no class yet. With most released entries honest, the first is likely honest.
    anchors = [e for e in entries if e.released]
    random.SystemRandom().shuffle(anchors)
    for e in anchors:
        found = contents.get(e.entry_id)
        if found is None or e.body is None:
            result.failed[e.entry_id] = _("its envelope is missing or malformed")
            continue
        content = found
        section = content.section(tag)
        assert section is not None
        q = e.quorum
        known = classes.setdefault(q, [])
        hit = next(((secret, why) for members, secret, why in known if e.entry_id in members), None)
        if hit is not None:
            secret, why = hit
            if secret is None:
                result.failed[e.entry_id] = why
            else:
                _open(e, content, tag, secret, deployment, result)
            continue
        placed = set().union(*(members for members, _unused1, _unused2 in known)) if known else set()
        anchor = quorum.Candidate(e.entry_id, section.x, section.shares[q])
        candidates = []
        for other_id, other in contents.items():
            if other_id == e.entry_id or other_id in placed:
                continue
            other_section = other.section(tag)
            assert other_section is not None
            candidates.append(quorum.Candidate(other_id, other_section.x, other_section.shares[q]))
        try:
            share_class = quorum.open_class(anchor, candidates, params.level(q))
        except ConsilienceError as exc:
            result.failed[e.entry_id] = _("its own share is not valid ({exc})", exc=exc)
            result.bogus.add(e.entry_id)
            continue
        result.checks += share_class.checks
        members = frozenset(share_class.members)
        if not share_class.opens:
            why = _n("only {n} distinct accounts' shares agree with its own; quorum {q} needs {q}",
                     "only {n} distinct accounts' shares agree with its own; quorum {q} needs {q}",
                     share_class.abscissas, q=q)
            known.append((members, None, why))
            result.failed[e.entry_id] = why
            continue
        # q distinct abscissas on one base give that base's secret: if the anchor's own wrap or body does
        # not open with it, only the anchor is at fault (a genuine share with a broken wrap), not its class.
        secret = share_class.secret()
        known.append((members, secret, ""))
        named.update(b for b in share_class.bogus if b not in placed)
        _open(e, content, tag, secret, deployment, result)
    # Named only when outside every class that opened: two classes can both open (q colluding accounts
    # on a base of their own), and then neither's members are bogus.
    # Classes are disjoint, so a member of a class that did not open is off the base of one that did.
    # Membership of an opened class at any level clears an entry: at a level where only colluding
    # accounts' class opened (and no honest entry anchored), honest shares look foreign, and naming
    # them would be worse than missing a bogus share at one level of an otherwise honest entry.
    opened_members: set[bytes] = set()
    for levels in classes.values():
        if any(secret is not None for _unused1, secret, _unused2 in levels):
            opened_members.update(*(m for m, secret, _unused in levels if secret is not None))
            named.update(*(m for m, secret, _unused in levels if secret is None))
    result.bogus.update(named - opened_members)
    order = {e.entry_id: n for n, e in enumerate(entries)}
    result.opened.sort(key=lambda o: order[o.entry_id])
    result.failed = dict(sorted(result.failed.items(), key=lambda kv: order[kv[0]]))
    return result


def _open(e: MatchedEntry, content: EnvelopeContent, tag: bytes, secret: quorum.QuorumSecret,
          deployment: Deployment, result: OpenResult) -> bool:
    section = content.section(tag)
    assert section is not None and e.body is not None
    context = wrap_context(deployment.deployment_id, content.key_epoch, e.entry_id, content.section_index(tag), tag)
    try:
        wrap_key = quorum.unwrap(secret, section.u, context)
        body_key = aead.open(wrap_key, section.wrapped, WRAP_AAD + e.entry_id + tag)
        body = open_body(body_key, e.entry_id, e.body)
    except (DecryptionError, ConsilienceError):
        result.failed[e.entry_id] = _("its shares agree but its body does not decrypt with the quorum secret")
        result.bogus.add(e.entry_id)
        return False
    result.opened.append(OpenedEntry(e.entry_id, _x_bytes(section.x), e.quorum, body))
    return True


def _x_bytes(x: Scalar) -> bytes:
    return x.to_bytes()
