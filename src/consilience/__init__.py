"""Consilience: an allegation escrow.

Records stay sealed until k independent reporters name the same person.
The package is layered: ``crypto`` (standard primitives), ``protocol``
(Consilience v1, pure functions), ``storage`` (SQL), ``services`` (HTTP),
``clients`` (SDK, local key stores) and ``cli``.
"""

__version__ = "0.1.0"
