"""The transparency log as a library: RFC 9162 Merkle trees, C2SP signed notes, checkpoints,
tlog-proof receipts and consistency bundles. Depends only on ``crypto``; storage drivers
(``storage/log.py``) and the escrow's own leaf formats (``protocol/events.py``) sit above it.
"""
