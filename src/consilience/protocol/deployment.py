"""The signed deployment document, protocol v2 (PROTOCOL.md §4).

Clients take every public key they use (key-server shares and identities,
the quorum commitments, counselor keys, the log's key) from this document
and only after checking the administrator's signature, so a compromised
escrow server cannot slip in a counselor key of its own. The quorum
commitments come from the key servers' own key generation: the document
carries every qualified key server's signed confirmation of the transcript,
and clients check them, so the administrator publishes the result but did
not choose it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any

from consilience.crypto import signing
from consilience.errors import InvalidInput, VerificationError
from consilience.i18n import N_, _
from consilience.protocol.encoding import b64u_decode, b64u_encode

if TYPE_CHECKING:
    from consilience.protocol import dkg
    from consilience.protocol import quorum as quorum_v2

FORMAT = "consilience-deployment/v2"
V1_FORMAT = "consilience-deployment/v1"
V1_REFUSAL = N_("this is a Consilience v1 deployment document; this software speaks protocol v2 and cannot use it "
              "(the deployment must be set up again with this version)")
SIGNING_PREFIX = b"consilience-v2 deployment\n"
FINGERPRINT_LABEL = b"consilience-v1 admin key"  # unchanged from v1: invites carry the fingerprint
MAX_QUORUM_LIMIT = 32
SUITE = "ristretto255-SHA512"


@dataclass(frozen=True)
class KeyServer:
    index: int
    url: str
    #: ristretto255 VOPRF public share k_i·G, from the key servers' key generation (b"" until it is published)
    public_share: bytes
    identity_key: bytes = b""  # Ed25519: signs its key-generation messages; requests are addressed to it
    hpke_public_key: bytes = b""  # X-Wing: the other key servers seal their key-generation shares to it

    def listing(self) -> dict[str, Any]:
        return {"index": self.index, "url": self.url,
                "public_share": b64u_encode(self.public_share) if self.public_share else None,
                "identity_key": b64u_encode(self.identity_key), "hpke_public_key": b64u_encode(self.hpke_public_key)}

    @classmethod
    def from_listing(cls, s: dict[str, Any]) -> KeyServer:
        return cls(int(s["index"]), str(s["url"]),
                   b"" if s["public_share"] is None else b64u_decode(s["public_share"], length=32,
                                                                      field="public_share"),
                   b64u_decode(s["identity_key"], length=32, field="identity_key"),
                   b64u_decode(s["hpke_public_key"], field="hpke_public_key"))


KIND_NAMES = ("generate", "refresh", "reshare")  # dkg.GENERATE, dkg.REFRESH, dkg.RESHARE in this order


@dataclass(frozen=True)
class QuorumKeys:
    """The published result of the key servers' key generation (protocol/dkg.py), as last renewed.

    ``generation`` is the epoch of the run that generated the secrets; a refresh or resharing
    (``kind``) gives new shares of the same secrets under a later ``epoch``, so entries, which bind
    ``generation``, stay openable.
    """

    epoch: int
    transcript: bytes
    #: the key servers holding shares (every one listed in the document once renewed)
    qualified: tuple[int, ...]
    #: q -> C_{q,0..q-1}, compressed G2 (96 bytes each)
    levels: dict[int, tuple[bytes, ...]]
    #: key server index -> q -> commitments to its shares of F_q's coefficients
    servers: dict[int, dict[int, tuple[bytes, ...]]]
    #: every holder's signed confirmation (dkg.confirm) of ``transcript``
    confirmations: tuple[bytes, ...]
    generation: int = 0
    kind: str = "generate"
    #: the commitments digest of the result this one renewed (zeros when generated)
    renewed_from: bytes = bytes(32)
    #: the qualified dealers of the run (the holders when generated; the previous holders that dealt when renewed)
    dealers: tuple[int, ...] = ()
    #: dkg.abscissa_check of the abscissa key every holder has
    abscissa_check: bytes = bytes(32)

    def to_json(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "generation": self.generation,
            "kind": self.kind,
            "renewed_from": None if self.kind == "generate" else b64u_encode(self.renewed_from),
            "transcript": b64u_encode(self.transcript),
            "qualified": list(self.qualified),
            "dealers": list(self.dealers),
            "levels": {str(q): [b64u_encode(c) for c in cs] for q, cs in sorted(self.levels.items())},
            "servers": {str(i): {str(q): [b64u_encode(c) for c in cs] for q, cs in sorted(levels.items())}
                        for i, levels in sorted(self.servers.items())},
            "abscissa_check": b64u_encode(self.abscissa_check),
            "confirmations": [b64u_encode(c) for c in self.confirmations],
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> QuorumKeys:
        def points(values: Any) -> tuple[bytes, ...]:
            return tuple(b64u_decode(v, length=96, field="commitment") for v in values)

        kind = str(doc["kind"])
        if kind not in KIND_NAMES:
            raise InvalidInput(_("unknown kind of key generation {kind}", kind=repr(kind)))
        return cls(
            epoch=int(doc["epoch"]),
            generation=int(doc["generation"]),
            kind=kind,
            renewed_from=bytes(32) if doc["renewed_from"] is None else b64u_decode(doc["renewed_from"], length=32,
                                                                                     field="renewed_from"),
            transcript=b64u_decode(doc["transcript"], length=32, field="transcript"),
            qualified=tuple(int(i) for i in doc["qualified"]),
            dealers=tuple(int(i) for i in doc["dealers"]),
            levels={int(q): points(cs) for q, cs in doc["levels"].items()},
            servers={int(i): {int(q): points(cs) for q, cs in levels.items()} for i, levels in doc["servers"].items()},
            abscissa_check=b64u_decode(doc["abscissa_check"], length=32, field="abscissa_check"),
            confirmations=tuple(b64u_decode(c, field="confirmation") for c in doc["confirmations"]),
        )


@dataclass(frozen=True)
class KeyChange:
    """What the administrator asks the key servers to run next, at board ``epoch``.

    ``generate`` (new secrets: the first run, or again after a failed one), ``refresh`` (new shares
    of the same secrets for the same key servers) or ``reshare`` (shares of the same secrets for
    ``servers`` under ``threshold``: add, remove or replace key servers, change t). The listed key
    servers take over once the administrator publishes the result (``admin publish-keys``).
    """

    epoch: int
    kind: str
    threshold: int
    servers: tuple[KeyServer, ...]

    def to_json(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "kind": self.kind, "threshold": self.threshold,
                "servers": [s.listing() for s in self.servers]}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> KeyChange:
        kind = str(doc["kind"])
        if kind not in KIND_NAMES:
            raise InvalidInput(_("unknown kind of key generation {kind}", kind=repr(kind)))
        return cls(int(doc["epoch"]), kind, int(doc["threshold"]),
                   tuple(KeyServer.from_listing(s) for s in doc["servers"]))


@dataclass(frozen=True)
class Counselor:
    name: str
    key_id: bytes
    public_key: bytes
    #: Ed25519 key this counselor signs messages with (PROTOCOL.md §13.1). Optional, and written only when
    #: present, so documents made before messaging keep their bytes; a counselor without one cannot send
    #: messages, since reporters trust only messages signed by a key this document lists.
    signing_key: bytes | None = None

    def listing(self) -> dict[str, str]:
        doc = {"name": self.name, "key_id": b64u_encode(self.key_id), "public_key": b64u_encode(self.public_key)}
        if self.signing_key is not None:
            doc["signing_key"] = b64u_encode(self.signing_key)
        return doc

    @classmethod
    def from_listing(cls, c: dict[str, Any]) -> Counselor:
        signing_key = c.get("signing_key")
        return cls(str(c["name"]), b64u_decode(c["key_id"], length=16, field="key_id"),
                   b64u_decode(c["public_key"], field=_("counselor public_key")),
                   None if signing_key is None else b64u_decode(signing_key, length=32,
                                                                field=_("counselor signing_key")))


@dataclass(frozen=True)
class Deployment:
    deployment_id: bytes
    serial: int
    issued_at: str
    quorum: int
    max_quorum: int
    escrow_url: str
    threshold: int
    oprf_public_key: bytes
    key_servers: tuple[KeyServer, ...]
    counselors: tuple[Counselor, ...] = field(default=())
    #: The transparency log (PROTOCOL.md §11): checkpoint origin, which is also
    #: the log key's name, the log's Ed25519 public key, and witness vkeys.
    log_origin: str = ""
    log_public_key: bytes = b""
    witnesses: tuple[str, ...] = field(default=())
    #: None until the key servers' key generation is published (no entry can be sealed before)
    quorum_keys: QuorumKeys | None = None
    #: the run the key servers are asked to do next (None when there is none)
    key_change: KeyChange | None = None

    @property
    def log_vkey(self) -> str:
        from consilience.tlog.notes import ed25519_vkey

        return ed25519_vkey(self.log_origin, self.log_public_key)

    @property
    def quorum_range(self) -> range:
        return range(self.quorum, self.max_quorum + 1)

    def public_shares(self) -> dict[int, bytes]:
        """The VOPRF public shares of the key servers holding one (a key server the key generation
        disqualified, or one only joining, is listed without)."""
        return {s.index: s.public_share for s in self.key_servers if s.public_share}

    def retiring(self, server: KeyServer) -> bool:
        """Whether a resharing under way leaves ``server`` out: from the document that asks for it,
        clients stop asking it (a removal takes effect at once), though it still deals its shares to
        the new set until the result is published."""
        change = self.key_change
        return (change is not None and change.kind == "reshare"
                and all(s.identity_key != server.identity_key for s in change.servers))

    @property
    def serving_key_servers(self) -> tuple[KeyServer, ...]:
        """The key servers clients ask: those holding shares in force that no resharing under way removes."""
        return tuple(s for s in self.key_servers if s.public_share and not self.retiring(s))

    def key_server(self, index: int) -> KeyServer:
        for s in self.key_servers:
            if s.index == index:
                return s
        raise InvalidInput(_("this deployment has no key server {index}", index=index))

    def dkg_parameters(self, epoch: int) -> dkg.Parameters:
        """The parameters of the key servers' run at board ``epoch``: the change asked for, or the one published.

        For a renewal asked for, with what it renews (``dkg.Previous``, from the published result); for
        the published result, enough to read its confirmations.
        """
        from consilience.protocol import dkg

        change, keys = self.key_change, self.quorum_keys
        if change is not None and change.epoch == epoch:
            kind = KIND_NAMES.index(change.kind)
            previous = None
            if kind != dkg.GENERATE:
                previous = self._previous()
            return dkg.Parameters(
                deployment_id=self.deployment_id, epoch=epoch, threshold=change.threshold, low=self.quorum,
                high=self.max_quorum, participants=_participants(change.servers), kind=kind,
                previous_digest=previous.digest(self.quorum) if previous is not None else bytes(32),
                previous=previous)
        if keys is not None and keys.epoch == epoch:
            return dkg.Parameters(
                deployment_id=self.deployment_id, epoch=epoch, threshold=self.threshold, low=self.quorum,
                high=self.max_quorum, participants=_participants(self.key_servers),
                kind=KIND_NAMES.index(keys.kind), previous_digest=keys.renewed_from)
        raise InvalidInput(_("this deployment document asks for no key generation at epoch {epoch}", epoch=epoch))

    def _previous(self) -> dkg.Previous:
        from consilience.protocol import dkg

        keys = self._quorum_keys()
        return dkg.Previous(
            threshold=self.threshold, holders=_participants(self.key_servers),
            levels=tuple(keys.levels[q] for q in self.quorum_range), oprf_public_key=self.oprf_public_key,
            servers=tuple((i, tuple(keys.servers[i][q] for q in self.quorum_range),
                           self.key_server(i).public_share) for i in keys.qualified),
            abscissa_check=keys.abscissa_check)

    @property
    def board_epoch(self) -> int:
        """The board the key servers work on: the change asked for, else the published result's (1 at first)."""
        if self.key_change is not None:
            return self.key_change.epoch
        return self.quorum_keys.epoch if self.quorum_keys is not None else 1

    @property
    def ready(self) -> bool:
        """Whether entries can be sealed: the key servers' quorum keys are published."""
        return self.quorum_keys is not None

    @property
    def key_epoch(self) -> int:
        """The generation of the quorum secrets: what entries bind (a refresh or resharing keeps it)."""
        return self._quorum_keys().generation

    def _quorum_keys(self) -> QuorumKeys:
        if self.quorum_keys is None:
            raise InvalidInput(_("the key servers have not finished generating the deployment's quorum keys yet; "
                                 "nothing can be put in escrow until they have (try again in a few minutes)"))
        return self.quorum_keys

    @cached_property
    def _quorum_parameters(self) -> quorum_v2.QuorumParameters:
        from consilience.crypto.bls12381 import G2Point
        from consilience.protocol import quorum

        keys = self._quorum_keys()
        return quorum.check_commitments(
            self.threshold,
            {q: [G2Point.from_bytes(c) for c in cs] for q, cs in keys.levels.items()},
            {i: {q: [G2Point.from_bytes(c) for c in cs] for q, cs in levels.items()}
             for i, levels in keys.servers.items()})

    def quorum_parameters(self) -> quorum_v2.QuorumParameters:
        """The checked commitments of every level (protocol/quorum.py), decoded once per document."""
        return self._quorum_parameters

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "deployment_id": b64u_encode(self.deployment_id),
            "serial": self.serial,
            "issued_at": self.issued_at,
            "quorum": self.quorum,
            "max_quorum": self.max_quorum,
            "escrow_url": self.escrow_url,
            "oprf": {
                "suite": SUITE,
                "mode": 1,
                "threshold": self.threshold,
                "public_key": b64u_encode(self.oprf_public_key) if self.oprf_public_key else None,
                "servers": [s.listing() for s in self.key_servers],
            },
            "counselors": [c.listing() for c in self.counselors],
            "log": {"origin": self.log_origin, "public_key": b64u_encode(self.log_public_key),
                    "witnesses": list(self.witnesses)},
            "quorum_keys": None if self.quorum_keys is None else self.quorum_keys.to_json(),
            "key_change": None if self.key_change is None else self.key_change.to_json(),
        }

    def canonical_bytes(self) -> bytes:
        return canonical_json(self.to_json())


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def admin_fingerprint(admin_public_key: bytes) -> bytes:
    return hashlib.sha256(FINGERPRINT_LABEL + admin_public_key).digest()[:16]


def sign(deployment: Deployment, admin_private: bytes) -> dict[str, str]:
    """The published form: the exact signed bytes, the signature and the key."""
    validate(deployment)
    document = deployment.canonical_bytes()
    return {
        "document": b64u_encode(document),
        "signature": b64u_encode(signing.sign(admin_private, SIGNING_PREFIX + document)),
        "admin_key": b64u_encode(signing.public_key(admin_private)),
    }


def _refusal(message: str, part: str) -> VerificationError:
    """A VerificationError that says which part failed (:func:`refused_part`); its type stays the one the
    vectors name."""
    refusal = VerificationError(message)
    setattr(refusal, "_deployment_part", part)  # noqa: B010
    return refusal


def refused_part(exc: BaseException) -> str | None:
    """What :func:`verify` refused, for a caller that must tell the cases apart without reading the message
    (it is translated): ``"administrator"`` (signed by another than the pinned one), ``"document"`` (not
    canonical, or older than one already seen), else None."""
    part = getattr(exc, "_deployment_part", None)
    return part if isinstance(part, str) else None


def verify(published: dict[str, str], expected_fingerprint: bytes, *, min_serial: int = 0) -> Deployment:
    """Check signature, pinned administrator and contents; return the document."""
    if not isinstance(published, dict):
        raise InvalidInput(_("a published deployment document is a JSON object"))
    try:
        document = b64u_decode(published["document"], field="document")
        signature = b64u_decode(published["signature"], length=64, field="signature")
        admin_key = b64u_decode(published["admin_key"], length=32, field="admin_key")
    except KeyError as exc:
        raise InvalidInput(_("deployment document lacks {field}", field=repr(exc.args[0]))) from exc
    if admin_fingerprint(admin_key) != expected_fingerprint:
        raise _refusal(_("deployment signed by a different administrator than the one pinned"), "administrator")
    deployment = _verified(document, signature, admin_key)
    if deployment.serial < min_serial:
        raise _refusal(_("deployment serial {serial} is older than one already seen ({min_serial})",
                         serial=deployment.serial, min_serial=min_serial), "document")
    return deployment


def forget_checked_documents() -> None:
    """Forget the documents :func:`verify` kept, so the next call checks everything again (benchmarks)."""
    _verified.cache_clear()


@lru_cache(maxsize=8)
def _verified(document: bytes, signature: bytes, admin_key: bytes) -> Deployment:
    """Signature, canonical form and every check of :func:`validate`, once per exact signed document.

    A client fetches the document before every submission; checking its quorum keys (the
    commitments' decoding and interpolation, the key servers' confirmations) costs tens of
    milliseconds, and the result is a function of these bytes alone, so it is kept. Errors are
    not cached (lru_cache does not keep exceptions).
    """
    signing.verify(admin_key, SIGNING_PREFIX + document, signature)
    try:
        doc = json.loads(document)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise InvalidInput(_("deployment document is not JSON")) from exc
    deployment = parse(doc)
    if deployment.canonical_bytes() != document:
        raise _refusal(_("deployment document is not in canonical form"), "document")
    validate(deployment)
    return deployment


def parse(doc: dict[str, Any]) -> Deployment:
    try:
        if doc["format"] == V1_FORMAT:
            raise InvalidInput(_(V1_REFUSAL))
        if doc["format"] != FORMAT:
            raise InvalidInput(_("unknown deployment format {doc_format}", doc_format=repr(doc['format'])))
        oprf = doc["oprf"]
        if oprf["suite"] != SUITE or oprf["mode"] != 1:
            raise InvalidInput(_("unsupported OPRF suite or mode"))
        return Deployment(
            deployment_id=b64u_decode(doc["deployment_id"], length=16, field="deployment_id"),
            serial=int(doc["serial"]),
            issued_at=str(doc["issued_at"]),
            quorum=int(doc["quorum"]),
            max_quorum=int(doc["max_quorum"]),
            escrow_url=str(doc["escrow_url"]),
            threshold=int(oprf["threshold"]),
            oprf_public_key=b"" if oprf["public_key"] is None else b64u_decode(oprf["public_key"], length=32,
                                                                                field="oprf.public_key"),
            key_servers=tuple(KeyServer.from_listing(s) for s in oprf["servers"]),
            counselors=tuple(Counselor.from_listing(c) for c in doc["counselors"]),
            log_origin=str(doc["log"]["origin"]),
            log_public_key=b64u_decode(doc["log"]["public_key"], length=32, field="log.public_key"),
            witnesses=tuple(str(w) for w in doc["log"]["witnesses"]),
            quorum_keys=None if doc["quorum_keys"] is None else QuorumKeys.from_json(doc["quorum_keys"]),
            key_change=None if doc["key_change"] is None else KeyChange.from_json(doc["key_change"]),
        )
    except (KeyError, TypeError, ValueError, OverflowError, AttributeError) as exc:
        if isinstance(exc, InvalidInput):
            raise
        raise InvalidInput(_("malformed deployment document: {exc}", exc=exc)) from exc


def validate(d: Deployment) -> None:
    """Bounds and key consistency; see PROTOCOL.md §4 for the rules."""
    from consilience.crypto import hpke, threshold_oprf

    if not 2 <= d.quorum <= d.max_quorum <= MAX_QUORUM_LIMIT:
        raise InvalidInput(_("need 2 <= quorum <= max_quorum <= {MAX_QUORUM_LIMIT}",
                             MAX_QUORUM_LIMIT=MAX_QUORUM_LIMIT))
    if not d.key_servers or not 1 <= d.threshold <= len(d.key_servers):
        raise InvalidInput(_("need 1 <= threshold <= number of key servers"))
    indices = [s.index for s in d.key_servers]
    if len(set(indices)) != len(indices) or min(indices) < 1:
        raise InvalidInput(_("key-server indices must be distinct and positive"))
    if d.serial < 1:
        raise InvalidInput(_("serial starts at 1"))
    if indices != list(range(1, len(indices) + 1)):
        raise InvalidInput(_("key servers are listed with indices 1..n, in order"))
    check_url(_("the escrow server"), d.escrow_url)
    for s in (*d.key_servers, *(d.key_change.servers if d.key_change is not None else ())):
        check_url(_("key server {index}", index=s.index), s.url)
    _participants(d.key_servers)  # identity and HPKE keys well formed and distinct
    if d.quorum_keys is None:
        if d.oprf_public_key or any(s.public_share for s in d.key_servers):
            raise InvalidInput(_("VOPRF public shares come from the key servers' key generation, with its result"))
        if d.key_change is None or d.key_change.kind != "generate":
            raise InvalidInput(_("a deployment without quorum keys asks its key servers to generate them"))
    else:
        if not d.oprf_public_key:
            raise InvalidInput(_("the quorum keys are published without the VOPRF public key their run produced; "
                                 "publish them again with 'consilience admin publish-keys'"))
        threshold_oprf.check_public_shares(d.oprf_public_key, d.public_shares(), d.threshold)
        _check_quorum_keys(d, d.dkg_parameters(d.quorum_keys.epoch))
    if d.key_change is not None:
        _check_key_change(d, d.key_change)
    key_ids = set()
    for c in d.counselors:
        if hpke.key_id(c.public_key) != c.key_id:
            raise VerificationError(_("counselor {name}: key id does not match the public key", name=repr(c.name)))
        key_ids.add(c.key_id)
    if len(key_ids) != len(d.counselors):
        raise InvalidInput(_("a counselor key appears twice"))
    signing_keys = [c.signing_key for c in d.counselors if c.signing_key is not None]
    if len(set(signing_keys)) != len(signing_keys):  # a message must name one counselor, never two
        raise InvalidInput(_("a counselor signing key appears twice"))
    from consilience.tlog import checkpoint, notes

    if not notes.valid_key_name(d.log_origin) or len(d.log_public_key) != 32:
        raise InvalidInput(_("the log needs an origin that is a valid key name and a 32-byte Ed25519 key"))
    witness_keys = checkpoint.witness_verifiers(d.witnesses)  # a key listed twice, in either form, is refused
    if len({w.key_id for w in witness_keys}) != len(witness_keys):
        raise InvalidInput(_("a witness appears twice"))
    if any(w.public_key == d.log_public_key for w in witness_keys):
        raise InvalidInput(_("the log's own key cannot be one of its witnesses"))


def _check_quorum_keys(d: Deployment, params: dkg.Parameters) -> None:
    """Every qualified key server confirmed this transcript, and the commitments pass check_commitments.

    The confirmations are the key servers' own signatures (their identity
    keys are listed above), so the administrator who publishes the result
    cannot substitute commitments of their own choosing without the key
    servers' agreement.
    """
    from consilience.protocol import dkg

    keys = d.quorum_keys
    assert keys is not None
    if set(keys.levels) != set(d.quorum_range):
        raise InvalidInput(_("the quorum keys must cover exactly the levels of the quorum range"))
    if sorted(keys.servers) != sorted(keys.qualified) or len(keys.qualified) < d.threshold:
        raise InvalidInput(_("the quorum keys list commitments for exactly the qualified key servers, at least the "
                             "threshold of them"))
    if keys.kind == "generate":
        if keys.generation != keys.epoch or keys.dealers != keys.qualified:
            raise InvalidInput(_("generated quorum keys are their own generation, dealt by their holders"))
    elif not 1 <= keys.generation < keys.epoch or keys.qualified != tuple(s.index for s in d.key_servers):
        raise InvalidInput(_("renewed quorum keys come from an earlier generation and every key server holds them"))
    unlisted = [s.index for s in d.key_servers if s.index not in keys.qualified]
    if any(d.key_server(i).public_share for i in unlisted):
        raise InvalidInput(_("only key servers holding shares have a VOPRF public share"))
    d.quorum_parameters()  # check_commitments: counts, identities, per-server shares interpolate to the master
    digest = dkg.commitments_digest(keys.levels, keys.servers, d.oprf_public_key,
                                    {i: d.key_server(i).public_share for i in keys.qualified}, keys.abscissa_check)
    confirmed: set[int] = set()
    for data in keys.confirmations:
        msg = dkg.parse(params, data)
        if not isinstance(msg, dkg.Confirmation):
            raise VerificationError(_("a quorum-key confirmation is not a confirmation"))
        if msg.transcript != keys.transcript or tuple(msg.qualified) != tuple(keys.dealers):
            raise VerificationError(_("key server {author} confirmed another key generation", author=msg.author))
        if msg.commitments != digest:
            raise VerificationError(_("key server {author} confirmed other commitments than those published",
                                      author=msg.author))
        confirmed.add(msg.author)
    missing = sorted(set(keys.qualified) - confirmed)
    if missing:
        raise VerificationError(_("no confirmation of the quorum keys from key server(s) {missing}",
                                  missing=", ".join(map(str, missing))))


def _participants(servers: tuple[KeyServer, ...]) -> tuple[dkg.Participant, ...]:
    from consilience.protocol import dkg

    listed = sorted(servers, key=lambda s: s.index)
    if [s.index for s in listed] != list(range(1, len(listed) + 1)):
        raise InvalidInput(_("key servers are listed with indices 1..n, in order"))
    return tuple(dkg.Participant(s.index, s.identity_key, s.hpke_public_key) for s in listed)


def _check_key_change(d: Deployment, change: KeyChange) -> None:
    """A change the key servers can run: a later epoch, a set they can take, what its kind allows."""
    if any(s.public_share for s in change.servers):
        raise InvalidInput(_("a key change lists key servers without VOPRF public shares (they come from its result)"))
    if not 1 <= change.threshold <= len(change.servers) <= 32:
        raise InvalidInput(_("a key change needs 1 <= threshold <= key servers <= 32"))
    if d.quorum_keys is None:
        if (change.servers, change.threshold) != (tuple(replace(s, public_share=b"") for s in d.key_servers),
                                                  d.threshold):
            raise InvalidInput(_("the first key generation is run by the key servers the document lists"))
    elif change.epoch <= d.quorum_keys.epoch:
        raise InvalidInput(_("a key change runs at a later epoch than the published quorum keys"))
    elif change.kind == "generate":
        raise InvalidInput(_("the quorum keys are published: generating new ones would leave every entry "
                             "unopenable; refresh or reshare them instead"))
    d.dkg_parameters(change.epoch)  # dkg.Parameters checks the rest (a refresh keeps set and threshold, …)


def check_url(what: str, url: str) -> None:
    """An address clients may use: https://, or http:// only to this machine (loopback).

    Clients check every document they receive, so a signed downgrade to plain HTTP is refused too.
    """
    import ipaddress
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError as exc:
        raise InvalidInput(_("{what}'s address {url} is not a valid URL", what=what, url=repr(url))) from exc
    if parts.scheme not in ("http", "https") or not host or parts.username or parts.password or parts.query \
            or parts.fragment:
        raise InvalidInput(_("{what}'s address {url} must be http(s)://host[:port][/path], with nothing else",
                             what=what, url=repr(url)))
    if parts.scheme == "http":
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise InvalidInput(_("{what}'s address {url} is http:// on {host}, which is not this machine: key "
                                 "servers and the escrow server must be reached over TLS. Use an https:// address "
                                 "(the server's --tls-cert/--tls-key, or a reverse proxy that terminates TLS).",
                                 what=what, url=url, host=host))
