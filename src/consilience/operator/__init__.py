"""Operator tooling: what the administrator runs on their own machine. It writes files and the
escrow database directly and never talks HTTP.

- ``deployment``: ``admin init`` and ``admin status``; loading, signing and publishing the document
- ``invites``: reporter invites
- ``counselors``: adding a counselor (key in the document, account in the database)
- ``witnesses``: adding a log witness
- ``shares``: proactive refresh of the key servers' shares

Where each file lives is ``datadir``'s to say.
"""
