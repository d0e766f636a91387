"""The transparency log as a library (PROTOCOL.md §11), kept apart so it can be checked against
the RFC 9162 and C2SP vectors without a database, a server or the escrow's own formats.

Modules, bottom up:

``merkle``
    RFC 9162 hashing, roots, inclusion and consistency proofs, and their verification. Proofs
    are generated through the ``NodeReader`` seam (stored perfect-subtree hashes only), so any
    storage can back a log; ``MemoryTree`` is the in-memory reference backend.
``notes``
    C2SP signed notes: key names and IDs, vkeys, Ed25519 signing and strict verification.
``checkpoint``
    C2SP tlog-checkpoint bodies signed as notes, and tlog-cosignature/v1 witness
    cosignatures: signing, the line a witness hands back, and opening a checkpoint (the log's
    signature and every known witness's cosignature must verify).
``receipt``
    C2SP tlog-proof receipts: issuing one from a ``NodeReader`` and a signed checkpoint, and
    verifying one offline with a witness quorum, optionally against a newer checkpoint.
``consistency``
    The ``consilience-v1/consistency`` bundle: a newer checkpoint with the proof from an
    older size, for offline ``verify --against``.
``witness``
    What a witness checks before it cosigns: the new checkpoint extends the last one it cosigned.

It depends only on ``consilience.crypto`` and ``consilience.errors``. Above it, and not part of
it: the SQL driver that implements ``NodeReader`` and keeps the leaves and checkpoints
(``storage/log.py``), the escrow's own leaf formats (``protocol/events.py``), the server's
recording of events and its ``/v2/log/*`` endpoints (``services/escrow/transparency.py`` and
``log_endpoints.py``), and the network side of receipts and witnesses (``clients/``).
"""
