"""clients/board.py against a board in the plan's format: posting, duplicates, paging past 500 messages,
refusals and an unreachable escrow server in words, and the deployment document checked on the way in."""

from __future__ import annotations

import pytest

from consilience.clients.board import Board, BoardClient, BoardError
from consilience.errors import VerificationError
from consilience.protocol import deployment as dep
from consilience.protocol import dkg
from keyserver_world import board_app, free_port, make_deployment, run_keygen, serving


def test_post_read_duplicates_and_paging(tmp_path) -> None:  # type: ignore[no-untyped-def]
    folder = make_deployment(tmp_path / "data")
    messages, _ = run_keygen(folder, write=False)
    app = board_app(folder.root)
    with serving(app) as url, BoardClient(url) as client:
        assert client.post(1, messages[0]) is True
        assert client.post(1, messages[0]) is False, "the same bytes twice: already there"
        for m in messages[1:]:
            client.post(1, m)
        got, after = client.read(1)
        assert got == messages and after == len(messages)
        assert client.read(1, after) == ([], after)
        assert client.read(2) == ([], 0), "another epoch's board is empty"
        # past one page (500 messages): a relay may store and serve duplicates; every page is followed
        app.state.boards[7] = [(m, 0.0) for m in messages] * 200
        many, after = client.read(7)
        assert len(many) == len(messages) * 200 and after == len(messages) * 200
        board = Board(client, 7)
        assert board.refresh() == messages, "a reader keeps each message once"
        assert board.refresh() == [] and board.messages == messages


def test_refusals_and_an_unreachable_escrow_are_said_in_words(tmp_path) -> None:  # type: ignore[no-untyped-def]
    folder = make_deployment(tmp_path / "data")
    messages, _ = run_keygen(folder, write=False)
    with serving(board_app(folder.root)) as url, BoardClient(url) as client:
        with pytest.raises(BoardError) as refused:
            client.post(2, messages[0])  # signed for epoch 1: not a message of epoch 2's run
        assert refused.value.status == 422 and "answered 422 to POST /v2/board" in str(refused.value)
        fingerprint = dep.admin_fingerprint(folder.keys(1).identity_key)  # not the administrator's
        with pytest.raises(VerificationError, match="different administrator"):
            client.deployment(fingerprint)
        params = folder.deployment.dkg_parameters(1)
        assert isinstance(dkg.parse(params, messages[0]), dkg.Deal)
    with BoardClient(f"http://127.0.0.1:{free_port()}") as nobody, pytest.raises(BoardError) as unreachable:
        nobody.read(1)
    assert unreachable.value.status == 0 and "could not be reached" in str(unreachable.value)
