"""The key servers' bulletin board on the escrow server (POST /v2/board, GET /v2/board/{epoch}).

The board relays signed key-generation messages (``protocol/dkg.py``) and refuses everything
else; it is idempotent on the same bytes, paged, public to read and rate limited per address.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from consilience.crypto import signing
from consilience.protocol import dkg
from consilience.protocol.encoding import b64u_decode
from consilience.protocol.messages import BoardPage
from consilience.services.escrow.limits import LimitSettings

from .harness import API, Escrow, b64, build, key_server_keys


def complaint(escrow: Escrow, author: int = 1, *, epoch: int = 1) -> bytes:
    """A cheap signed message: a complaint by key server ``author`` against another's deal."""
    params = escrow.deployment.dkg_parameters(epoch)
    dealer = 2 if author != 2 else 3
    return dkg.complain(params, author, key_server_keys(author).identity_private, dealer,
                        os.urandom(dkg.DIGEST_BYTES), dkg.BAD_SHARES)


def post(escrow: Escrow, message: bytes, epoch: int = 1):  # type: ignore[no-untyped-def]
    return escrow.client.post(f"{API}/board", json={"epoch": epoch, "message": b64(message)})


def page(escrow: Escrow, epoch: int = 1, after: int | None = None) -> BoardPage:
    params = {} if after is None else {"after": after}
    response = escrow.client.get(f"{API}/board/{epoch}", params=params)
    assert response.status_code == 200, response.text
    return BoardPage.model_validate(response.json())


def test_a_signed_message_is_kept_once_and_read_back_by_anyone(escrow: Escrow) -> None:
    message = complaint(escrow)
    first = post(escrow, message)
    assert first.status_code == 201, first.text
    again = post(escrow, message)
    assert again.status_code == 200 and again.json() == first.json()
    assert escrow.counts()["board_messages"] == 1
    read = page(escrow)
    assert [(m.seq, b64u_decode(m.message)) for m in read.messages] == [(first.json()["seq"], message)]
    assert isinstance(read.messages[0].received_at, datetime) and read.next_after == first.json()["seq"]
    assert page(escrow, after=read.next_after).messages == []
    assert page(escrow, after=read.next_after).next_after == read.next_after
    assert page(escrow, epoch=2).messages == []  # boards are per epoch


def test_a_real_deal_is_accepted(escrow: Escrow) -> None:
    params = escrow.deployment.dkg_parameters(1)
    deal = dkg.deal(params, 1, key_server_keys(1).identity_private, dkg.DealerSeed.fresh())
    assert post(escrow, deal).status_code == 201
    assert b64u_decode(page(escrow).messages[0].message) == deal


def test_anything_but_a_listed_key_servers_message_is_refused(escrow: Escrow) -> None:
    good = complaint(escrow)
    body = good[:-dkg.SIGNATURE_BYTES]
    refused = {
        "garbage": os.urandom(300),
        "signed by a key that is not listed": body + signing.sign(signing.generate(), body),
        "tampered": good[:-70] + bytes([good[-70] ^ 1]) + good[-69:],
    }
    for what, message in refused.items():
        response = post(escrow, message)
        assert response.status_code == 422, what
        assert response.json()["error"] == "invalid" and "key-generation message" in response.json()["detail"]
    wrong_epoch = post(escrow, good, epoch=7)  # signed for epoch 1
    assert wrong_epoch.status_code == 422
    for body in ({"epoch": -1, "message": b64(good)}, {"epoch": 1}, {"epoch": 1, "message": "not*base64"},
                 {"epoch": "1", "message": b64(good)}):
        assert escrow.client.post(f"{API}/board", json=body).status_code == 422
    assert escrow.counts()["board_messages"] == 0


def test_pages_hold_at_most_500_messages_in_order(tmp_path: Path) -> None:
    escrow = build(tmp_path / "data", limits=LimitSettings(board_posts_per_address=(3600.0, 1000.0)))
    with escrow.client:
        check_paging(escrow)
    escrow.db.dispose()


def check_paging(escrow: Escrow) -> None:
    posted = [post(escrow, complaint(escrow, author=1 + i % 3)).json()["seq"] for i in range(503)]
    assert posted == sorted(posted)
    first = page(escrow)
    assert len(first.messages) == 500 and [m.seq for m in first.messages] == posted[:500]
    rest = page(escrow, after=first.next_after)
    assert [m.seq for m in rest.messages] == posted[500:]
    assert escrow.client.get(f"{API}/board/1", params={"after": -1}).status_code == 422


def test_posts_are_rate_limited_per_address(tmp_path: Path) -> None:
    escrow = build(tmp_path / "data", limits=LimitSettings(board_posts_per_address=(1.0, 3.0)))
    with escrow.client:
        codes = [post(escrow, complaint(escrow)).status_code for _ in range(4)]
        assert codes == [201, 201, 201, 429]
        assert escrow.counts()["board_messages"] == 3
        assert escrow.client.get(f"{API}/board/1").status_code == 200  # reading is not budgeted
    escrow.db.dispose()
