"""Exception types shared by every layer, and the package's whole exception tree.

Each layer raises these rather than library-specific errors so that the
services can map them to clear 4xx answers and the CLI to readable messages
without knowing which primitive failed. Every exception the package raises on
purpose is a ``ConsilienceError``, except the services' ``Refusal``::

    Exception
    ├── ConsilienceError ─────────── consilience.errors
    │   ├── InvalidInput ─────────── consilience.errors (also a ValueError)
    │   │   ├── MalformedMessage ─── consilience.protocol.dkg
    │   │   └── AlreadyNamed ─────── consilience.clients.reporter
    │   ├── VerificationError ────── consilience.errors
    │   │   ├── DecryptionError ──── consilience.errors
    │   │   ├── DkgFailed ────────── consilience.protocol.dkg
    │   │   ├── FieldRefused ─────── consilience.errors
    │   │   │   ├── CorroborationRefused  consilience.protocol.corroboration
    │   │   │   └── DisclosureRefused ─ consilience.protocol.disclosure
    │   │   └── DishonestKeyServers  consilience.protocol.quorum
    │   ├── BelowQuorum ──────────── consilience.protocol.quorum
    │   ├── ApiError ─────────────── consilience.clients.escrow_client
    │   ├── BoardError ───────────── consilience.clients.board
    │   ├── KeysNotReady ─────────── consilience.operator.quorum_keys
    │   ├── KeyServerUnavailable ─── consilience.clients.oprf_client
    │   ├── RecoveryFailed ───────── consilience.clients.recovery
    │   ├── ConfigurationError ───── consilience.services.config (also importable from services.escrow.settings)
    │   ├── SessionExpired ───────── consilience.storage.revocations
    │   ├── AccountRevoked ───────── consilience.storage.revocations
    │   ├── AccountDeleted ───────── consilience.storage.revocations
    │   ├── NoSuchAccount ────────── consilience.storage.revocations
    │   └── StorageError ─────────── consilience.storage.repository
    │       ├── NotFound
    │       ├── Conflict
    │       │   ├── PersonAlreadyNamed
    │       │   └── ConversationExists ─ consilience.storage.conversations
    │       └── InviteRefused
    ├── Stopped ──────────────────── consilience.services.keyserver.dkg_runner (internal, never escapes)
    ├── Superseded ───────────────── consilience.services.keyserver.dkg_runner (internal, never escapes)
    ├── MailRefused ──────────────── consilience.services.escrow.notifier (internal, never escapes)
    ├── StaleBackup ──────────────── consilience.storage.backups (internal, never escapes)
    └── Refusal ──────────────────── consilience.services.http_errors (NOT a ConsilienceError)

When each is raised, and what people see:

``ConsilienceError``
    The base; raised as such for a refusal with nothing more specific to say
    (a key file that exists and would be overwritten, ``--since`` and
    ``--receipt`` both given, a local service that did not start). The CLI's
    ``handled`` decorator (``cli/common.py``) turns every ``ConsilienceError``
    into one line ``error: <message>`` on stderr, ``{"error": "<message>"}`` on
    stdout with ``--json``, and exit code 1; nothing else is caught, so any
    other exception is a bug and shows a traceback (without local variables).
``InvalidInput``
    Input that is malformed or outside the protocol's bounds: an identifier
    that cannot be normalised, an invite or credential of the wrong shape,
    bad base64url, an empty record, a file that is not a wallet or key, a
    missing wallet. Inside a request model's validator it is a validation
    failure (422, the field named). The services answer any other
    ``InvalidInput`` with 400 ``{"error": "malformed", "detail": <message>}``
    (``services/http_errors.py``); bearer tokens that do not decode are 401.
``BoardError``
    A key server or the administrator could not reach the escrow server's
    bulletin board for the key generation, or it refused a message; the key
    server retries on its own, ``admin publish-keys`` says what to check.
``KeysNotReady``
    ``admin publish-keys`` found no key generation that every qualified key
    server confirmed (yet): the message names the key servers it waited for.
``Stopped``, ``Superseded``
    Control flow inside a key server's key-generation thread (shutting down;
    an operator asked for a later epoch); caught there, never seen outside.
``MailRefused``
    The mail notifier's own signal that the mail server cannot be used as
    configured (no STARTTLS offered, a certificate not trusted); caught in its
    sending thread and logged by that sentence alone, never with an address.
``StaleBackup``
    The stored backup is as new as or newer than the one uploaded; the escrow
    server answers 409 ``stale_backup`` with the stored version, and the
    client uploads again one version above it.
``ConversationExists``
    A counselor asked to start a conversation with the reporter of an entry
    that already has one under another id: 409 ``conversation_exists`` with
    that conversation's id, so the client uses it.
``AlreadyNamed``
    A reporter asked to put a record in escrow naming a person another of
    their records already names: the escrow server keeps one active entry per
    account and person (it answers 409 ``already_named``), so the client says
    so first, naming the other record, and offers to add to it instead.
``VerificationError``
    A proof, signature, MAC or consistency check did not hold: a receipt or
    checkpoint (``consilience verify`` says why), a deployment document signed
    by another administrator than the one pinned, a log that shrank or forked
    (``witness cosign`` refuses), a receipt for another event than the one
    just caused. The key server answers an access token that does not verify
    with 401; the escrow server answers a cosignature that does not verify
    with 400.
``DecryptionError``
    A ciphertext could not be opened: wrong key or tampered data. A sealed
    file under a wrong passphrase says "wrong passphrase or damaged file" in
    ``crypto.passphrase``; ``clients/sealed.py`` names the file and what to do
    (try again; if the file was copied, copy it again), and on a terminal the
    CLI asks again.
    Opening a match never raises it: a released entry that does not open is
    listed under ``failed`` with the reason ("entry … could not be opened:
    <why>" in ``counselor open``), and entries whose envelope or shares are not
    what an honest client sends under ``bogus``.
``FieldRefused``
    A document checked offline that does not check, with the part that
    failed: ``field`` (a path such as ``entries[1].consent``) and ``reason``;
    under ``--json`` both are printed beside the message. Raised only as one
    of its two kinds below.
``CorroborationRefused``
    A corroboration statement (PROTOCOL.md §14.4) that does not check:
    ``field`` names where (``entries[1].consent``) and ``reason`` why;
    ``consilience verify-corroboration`` prints both and exits 1.
``DisclosureRefused``
    A disclosure (PROTOCOL.md §14.3) that does not check: ``field`` names
    where (``receipt.inclusion``) and ``reason`` why; ``consilience
    verify-disclosure`` prints both and exits 1, and ``reporter disclose``
    writes nothing.
``MalformedMessage``, ``DkgFailed``, ``DishonestKeyServers``, ``BelowQuorum``
    Protocol v2's key generation and quorum layer (``protocol/dkg.py``,
    ``protocol/quorum.py``), not yet wired into the servers or clients: a
    signed key-generation message whose body is malformed (its author is to
    blame), a key generation that produced no usable result, fewer than t
    key servers whose answers check (``dishonest`` names them), and a class
    of shares with fewer distinct abscissas than its quorum.
``ApiError``
    The escrow server answered with an error, or could not be reached
    (``status`` 0, ``code`` "unreachable"); it carries the server's own
    ``status``, ``code`` and ``detail`` (printed beside the message under
    ``--json``), and its message says in plain words what happened and what
    to do (``clients.escrow_client.describe``: "Cannot reach the escrow server
    at …; nothing was sent.", an invite refused, a rate limit with its wait).
    A submission whose answer was lost stays pending in the wallet for
    ``reporter retry``.
``KeyServerUnavailable``
    Fewer than the threshold of key servers gave a valid evaluation; the
    message names each skipped server and why (unreachable, its HTTP answer,
    an invalid answer, a proof that does not verify). A key server's answer
    that raises any ``ConsilienceError`` only skips that server.
``RecoveryFailed``
    Recovery on a new device (PROTOCOL.md §14.1) did not bring the wallet
    back, said in plain words with what to do: the passphrase did not open
    the backup (with the tries left), recovery is paused for the account
    (the key servers' reason: ask the administrator for an unlock code), no
    backup for the handle, or too few key servers answered. Nothing is written.
``ConfigurationError``
    A server cannot start or serve with the files it was given (deployment
    document unreadable or not verifying, a notifier that does not load).
    ``consilience serve`` and ``keyserver`` stop with the ``error:`` line; a
    file rewritten while serving that raises it is ignored and the last good
    one stays in force (logged).
``SessionExpired``, ``AccountRevoked``, ``AccountDeleted``, ``NoSuchAccount``
    Signing in and bearer tokens (PROTOCOL.md §6.1, §6.2), raised by
    ``storage/revocations.py`` and answered by the escrow server as 401:
    ``session_expired`` (the clients sign in again on their own and repeat
    the request), ``account_revoked`` (the administrator revoked the account;
    not retried), ``account_deleted`` (the reporter deleted their account,
    PROTOCOL.md §14.2; not retried), and a sign-in by no known account or
    credential.
``StorageError``
    The repository's refusals, mapped by ``services/escrow/errors.py``:
    ``NotFound`` to 404 (never saying whether the row exists for someone
    else), ``Conflict`` to 409 (id reuse; ``PersonAlreadyNamed``: a second
    active entry by one account naming one person, answered 409
    ``already_named`` with the existing entry's id),
    ``InviteRefused`` to 403 "invite refused: unknown, already used or
    expired". A client sees each as an ``ApiError`` with that status.

``Refusal`` is not part of this tree on purpose: it is an HTTP answer, not an
error of the package. A service handler raises ``Refusal(status, detail)`` to
answer ``{"error": <code for status>, "detail": <detail>}`` with that status
(``http_errors.install``); on the client's side it arrives as an ``ApiError``.
A database that cannot be reached is answered 503 with Retry-After; anything
else a service did not expect, 500 "internal error" (its text is never sent).

Not exceptions of this package, but part of what the CLI shows: a bad option
(``typer.BadParameter``, e.g. ``--attach`` naming no file) exits 2 with
click's usage message; Ctrl-C exits 130 with ``error: interrupted``.
"""


class ConsilienceError(Exception):
    """Base class for every error this package raises on purpose."""


class InvalidInput(ConsilienceError, ValueError):
    """Input that is malformed or outside the protocol's bounds."""


class VerificationError(ConsilienceError):
    """A proof, signature, MAC or consistency check did not hold."""


class FieldRefused(VerificationError):
    """A document a stranger checks offline failed at one named part, so a script can tell which."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason

    def json_fields(self) -> dict[str, object]:
        """What ``--json`` prints beside the message."""
        return {"field": self.field, "reason": self.reason}


class DecryptionError(VerificationError):
    """A ciphertext could not be opened: wrong key or tampered data."""
