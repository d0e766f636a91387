"""`consilience verify` and `consilience log …`: receipts and the transparency log."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from consilience.cli import secrets
from consilience.cli.common import JSON, PASS_ENV, handled, home
from consilience.cli.output import console, emit, untrusted, when
from consilience.errors import ConsilienceError

if TYPE_CHECKING:
    from consilience.clients.receipts import Verified

app = typer.Typer(no_args_is_help=True, help="Read the transparency log.")


def _render_verified(checked: Verified) -> None:
    r, e = checked.result, checked.event
    console.print(untrusted(
        f"valid: {e.kind} {checked.entry_id or ''} logged at {when(e.at)} as leaf {r.index} "
        f"of {r.origin} (tree size {r.tree_size})"
        + (f"; consistent with the newer checkpoint of size {r.against_size}" if r.against_size else "")
        + (f"; cosigned by {', '.join(c.name for c in r.cosignatures)}" if r.cosignatures else "")))
    console.print(untrusted(f"Log key from {checked.key_source}."))


@handled
def verify(receipt: Path = typer.Argument(..., help="A receipt file (.tlog-proof)."),
           against: Path = typer.Option(None, "--against",
                                        help="A newer checkpoint, or a bundle from 'consilience log fetch'."),
           admin_fingerprint: str = typer.Option(
               None, "--admin-fingerprint",
               help="The administrator's fingerprint (the last part of their invites). Default: the one your "
                    "wallet pins (its passphrase is asked)."),
           deployment: Path = typer.Option(
               None, "--deployment",
               help="A saved signed deployment document. Default: the deployment.json kept beside the "
                    "receipt, else the escrow server's (--server, or your wallet's)."),
           server: str = typer.Option(None, "--server", help="Fetch the deployment document from this escrow "
                                                             "server."),
           log_key: str = typer.Option(None, "--log-key",
                                       help="The log's verifier key, or a file that holds it. With a deployment "
                                            "document it must be that document's key; without one it is taken "
                                            "as given, unchecked."),
           witness: list[str] = typer.Option([], "--witness", help="A witness vkey whose cosignature is required."),
           wallet: Path = typer.Option(None, "--wallet", help="Wallet file whose administrator fingerprint to use "
                                                              "(default $CONSILIENCE_HOME/wallet.sealed)."),
           passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    """Check a receipt: exit 0 if valid, non-zero with the reason otherwise.

    The log key comes from the administrator-signed deployment document, checked against the
    administrator's fingerprint; a log.vkey beside the receipt must be the same key. With the
    deployment.json kept beside the receipt, no network is needed.
    """
    from consilience.clients import receipts

    if not receipt.is_file():
        raise ConsilienceError(f"cannot read {receipt}: no such file")
    vkey = None if log_key is None else receipts.read_log_key(log_key)
    fingerprint = None if admin_fingerprint is None else receipts.parse_fingerprint(admin_fingerprint)
    if fingerprint is None and vkey is None:
        fingerprint, wallet_server = _wallet_pin(wallet, passphrase_env)
        server = server or wallet_server
    published, document = _deployment_document(receipt, deployment, server)
    key = receipts.log_key_for(receipt, admin_fingerprint=fingerprint, published=published, document=document,
                               log_vkey=vkey)
    checked = receipts.verify_file(receipt, key, against=against, witness_vkeys=tuple(witness))
    emit(checked, as_json, lambda: _render_verified(checked))


def _wallet_pin(path: Path | None, passphrase_env: str) -> tuple[bytes | None, str | None]:
    """The administrator fingerprint and escrow server a reporter's wallet pins, if there is a wallet."""
    from consilience.clients import wallet as wallet_mod
    from consilience.protocol.encoding import b64u_decode

    path = path or home() / "wallet.sealed"
    if not path.is_file():
        return None, None
    w = secrets.unlock(f"Passphrase for {path} (to check the log key against the administrator it pins)",
                       lambda secret: wallet_mod.load(path, secret), env=passphrase_env)
    return b64u_decode(w.admin_fingerprint, length=16), w.server


def _deployment_document(receipt: Path, given: Path | None, server: str | None) -> tuple[dict[str, str] | None, str]:
    """The signed deployment document to take the log key from, and where it came from."""
    from consilience.clients import receipts
    from consilience.clients.escrow_client import EscrowClient

    beside = receipt.parent / receipts.DEPLOYMENT_FILE
    if given is not None:
        return receipts.read_deployment_file(given), str(given)
    if beside.is_file():
        return receipts.read_deployment_file(beside), str(beside)
    if server is not None:
        with EscrowClient(server) as client:
            return client.published_deployment().model_dump(), f"from {client.base_url}"
    return None, ""


@app.command("fetch")
@handled
def log_fetch(server: str = typer.Option(..., help="Escrow server URL."),
              since: int = typer.Option(None, help="Prove consistency from this tree size."),
              receipt: Path = typer.Option(None, help="Take the size from this receipt."),
              out: Path = typer.Option(..., "--out", "-o", help="Where to write the bundle."),
              as_json: bool = JSON) -> None:
    """Save the newest checkpoint with a consistency proof, for 'verify --against'."""
    from consilience.clients import receipts
    from consilience.clients.escrow_client import EscrowClient
    from consilience.tlog import checkpoint as cp
    from consilience.tlog.receipt import parse_receipt

    if (since is None) == (receipt is None):
        raise ConsilienceError("give exactly one of --since or --receipt")
    if receipt is not None and not receipt.is_file():
        raise ConsilienceError(f"cannot read {receipt}: no such file")
    if receipt is not None:
        since = cp.parse_signed_checkpoint(parse_receipt(receipt.read_text()).checkpoint)[0].size
    with EscrowClient(server) as client:
        bundle = receipts.fetch_bundle(client, since)
    out.write_text(bundle)
    emit({"out": str(out), "since": since}, as_json, lambda: console.print(f"Wrote {out}."))


@app.command("verify-tiles")
@handled
def log_verify_tiles(receipt: Path = typer.Argument(..., help="A receipt file (.tlog-proof)."),
                     server: str = typer.Option(..., "--server",
                                                help="Escrow server URL, or a mirror serving its /v2/log/tiles/."),
                     admin_fingerprint: str = typer.Option(
                         None, "--admin-fingerprint",
                         help="The administrator's fingerprint. Default: the one your wallet pins."),
                     deployment: Path = typer.Option(
                         None, "--deployment",
                         help="A saved signed deployment document. Default: the deployment.json beside the "
                              "receipt, else the server's."),
                     log_key: str = typer.Option(None, "--log-key", help="The log's verifier key, or a file that "
                                                                         "holds it (as for 'consilience verify')."),
                     witness: list[str] = typer.Option([], "--witness",
                                                       help="A witness vkey whose cosignature is required."),
                     wallet: Path = typer.Option(None, "--wallet", help="Wallet file whose administrator "
                                                                        "fingerprint to use."),
                     passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    """Check that the log's newest checkpoint still holds a receipt's leaf, from the log's tiles alone.

    The proofs are built here from the C2SP tiles (PROTOCOL.md §11.1), not asked for: the receipt's
    leaf is in the newest checkpoint, that tree extends the receipt's, and the entry bundle holds the
    leaf. The log key is found as 'consilience verify' finds it.
    """
    from consilience.clients import log_tiles, receipts

    if not receipt.is_file():
        raise ConsilienceError(f"cannot read {receipt}: no such file")
    vkey = None if log_key is None else receipts.read_log_key(log_key)
    fingerprint = None if admin_fingerprint is None else receipts.parse_fingerprint(admin_fingerprint)
    if fingerprint is None and vkey is None:
        fingerprint, _ = _wallet_pin(wallet, passphrase_env)
    published, document = _deployment_document(receipt, deployment, server)
    key = receipts.log_key_for(receipt, admin_fingerprint=fingerprint, published=published, document=document,
                               log_vkey=vkey)
    with log_tiles.TileSource(server) as source:
        checked = log_tiles.check_receipt(source, receipt.read_text(encoding="utf-8"), key.vkey, origin=key.origin,
                                          witness_vkeys=witness)
    newest = checked.checkpoint.checkpoint
    result = {"index": checked.index, "receipt_size": checked.receipt_size, "size": newest.size,
              "origin": newest.origin, "tiles": checked.fetched,
              "cosigned_by": [c.name for c in checked.checkpoint.cosignatures], "key_source": key.source}
    emit(result, as_json, lambda: console.print(untrusted(
        f"valid: leaf {checked.index} (receipt's tree size {checked.receipt_size}) is in {newest.origin}'s newest "
        f"checkpoint of size {newest.size}, which extends the receipt's; proofs built from {len(checked.fetched)} "
        f"tiles and bundles. Log key from {key.source}.")))
