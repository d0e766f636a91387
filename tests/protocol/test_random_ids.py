"""Ids a person may type on a command line never begin with "-" (PROTOCOL.md §8).

Before, one entry id in 64 did (base64url's 63rd character), and ``counselor message MATCH -xeXT…``
failed with "No such option: -x".
"""

from __future__ import annotations

from consilience.protocol.encoding import b64u_encode, random_id
from consilience.protocol.entry import ENTRY_ID_BYTES


def test_no_random_id_begins_with_a_dash_and_the_rest_stay_random() -> None:
    drawn = [random_id(ENTRY_ID_BYTES) for _ in range(4000)]  # a plain draw would give about 62 dashes
    assert all(len(i) == ENTRY_ID_BYTES for i in drawn)
    assert not [i for i in drawn if b64u_encode(i).startswith("-")]
    assert len(set(drawn)) == len(drawn)
    assert len({b64u_encode(i)[0] for i in drawn}) == 63  # every other first character still occurs
