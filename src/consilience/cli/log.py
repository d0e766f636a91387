"""`consilience verify` and `consilience log …`: receipts and the transparency log."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from consilience.cli import secrets
from consilience.cli.common import JSON, PASS_ENV, handled, home
from consilience.cli.output import console, emit, untrusted, when
from consilience.errors import ConsilienceError
from consilience.i18n import _

if TYPE_CHECKING:
    from consilience.clients.receipts import Verified

app = typer.Typer(no_args_is_help=True, help=_("Read the transparency log."))


def _render_verified(checked: Verified) -> None:
    r, e = checked.result, checked.event
    console.print(untrusted(
        _("valid: {kind} {entry} logged at {at} as leaf {index} of {origin} (tree size {tree_size})",
          kind=e.kind, entry=checked.entry_id or "", at=when(e.at), index=r.index, origin=r.origin,
          tree_size=r.tree_size)
        + (_("; consistent with the newer checkpoint of size {against_size}", against_size=r.against_size)
           if r.against_size else "")
        + (_("; cosigned by {witnesses}", witnesses=", ".join(c.name for c in r.cosignatures))
           if r.cosignatures else "")))
    console.print(untrusted(_("Log key from {key_source}.", key_source=checked.key_source)))


@handled
def verify(receipt: Path = typer.Argument(..., help=_("A receipt file (.tlog-proof).")),
           against: Path = typer.Option(None, "--against",
                                        help=_("A newer checkpoint, or a bundle from 'consilience log fetch'.")),
           admin_fingerprint: str = typer.Option(
               None, "--admin-fingerprint",
               help=_("The administrator's fingerprint (the last part of their invites). Default: the one your "
                      "wallet pins (its passphrase is asked).")),
           deployment: Path = typer.Option(
               None, "--deployment",
               help=_("A saved signed deployment document. Default: the deployment.json kept beside the receipt, "
                      "else the escrow server's (--server, or your wallet's).")),
           server: str = typer.Option(None, "--server", help=_("Fetch the deployment document from this escrow "
                                                               "server.")),
           log_key: str = typer.Option(None, "--log-key",
                                       help=_("The log's verifier key, or a file that holds it. With a deployment "
                                              "document it must be that document's key; without one it is taken as "
                                              "given, unchecked.")),
           witness: list[str] = typer.Option([], "--witness", help=_("A witness vkey whose cosignature is required.")),
           wallet: Path = typer.Option(None, "--wallet", help=_("Wallet file whose administrator fingerprint to "
                                                                "use (default $CONSILIENCE_HOME/wallet.sealed).")),
           passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.clients import receipts

    if not receipt.is_file():
        raise ConsilienceError(_("cannot read {receipt}: no such file", receipt=receipt))
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
    w = secrets.unlock(_("Passphrase for {path} (to check the log key against the administrator it pins)", path=path),
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
            return client.published_deployment().model_dump(), _("from {url}", url=client.base_url)
    return None, ""


@app.command("fetch", help=_("Save the newest checkpoint with a consistency proof, for 'verify --against'."))
@handled
def log_fetch(server: str = typer.Option(..., help=_("Escrow server URL.")),
              since: int = typer.Option(None, help=_("Prove consistency from this tree size.")),
              receipt: Path = typer.Option(None, help=_("Take the size from this receipt.")),
              out: Path = typer.Option(..., "--out", "-o", help=_("Where to write the bundle.")),
              as_json: bool = JSON) -> None:
    from consilience.clients import receipts
    from consilience.clients.escrow_client import EscrowClient
    from consilience.tlog import checkpoint as cp
    from consilience.tlog.receipt import parse_receipt

    if (since is None) == (receipt is None):
        raise ConsilienceError(_("give exactly one of --since or --receipt"))
    if receipt is not None and not receipt.is_file():
        raise ConsilienceError(_("cannot read {receipt}: no such file", receipt=receipt))
    if receipt is not None:
        since = cp.parse_signed_checkpoint(parse_receipt(receipt.read_text()).checkpoint)[0].size
    with EscrowClient(server) as client:
        bundle = receipts.fetch_bundle(client, since)
    out.write_text(bundle)
    emit({"out": str(out), "since": since}, as_json, lambda: console.print(_("Wrote {out}.", out=out)))


@app.command("verify-tiles", help=_("Check that the log's newest checkpoint still holds a receipt's leaf, from the "
                                    "log's tiles alone.\n\nThe proofs are built here from the C2SP tiles (PROTOCOL.md "
                                    "§11.1), not asked for: the receipt's leaf is in the newest checkpoint, that tree "
                                    "extends the receipt's, and the entry bundle holds the leaf. The log key is found "
                                    "as 'consilience verify' finds it."))
@handled
def log_verify_tiles(receipt: Path = typer.Argument(..., help=_("A receipt file (.tlog-proof).")),
                     server: str = typer.Option(..., "--server",
                                                help=_("Escrow server URL, or a mirror serving its /v2/log/tiles/.")),
                     admin_fingerprint: str = typer.Option(
                         None, "--admin-fingerprint",
                         help=_("The administrator's fingerprint. Default: the one your wallet pins.")),
                     deployment: Path = typer.Option(
                         None, "--deployment",
                         help=_("A saved signed deployment document. Default: the deployment.json beside the "
                                "receipt, else the server's.")),
                     log_key: str = typer.Option(None, "--log-key", help=_("The log's verifier key, or a file that "
                                                                           "holds it (as for 'consilience verify').")),
                     witness: list[str] = typer.Option([], "--witness",
                                                       help=_("A witness vkey whose cosignature is required.")),
                     wallet: Path = typer.Option(None, "--wallet", help=_("Wallet file whose administrator "
                                                                          "fingerprint to use.")),
                     passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.clients import log_tiles, receipts

    if not receipt.is_file():
        raise ConsilienceError(_("cannot read {receipt}: no such file", receipt=receipt))
    vkey = None if log_key is None else receipts.read_log_key(log_key)
    fingerprint = None if admin_fingerprint is None else receipts.parse_fingerprint(admin_fingerprint)
    if fingerprint is None and vkey is None:
        fingerprint, _pin = _wallet_pin(wallet, passphrase_env)
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
        _("valid: leaf {index} (receipt's tree size {receipt_size}) is in {origin}'s newest checkpoint of size "
          "{size}, which extends the receipt's; proofs built from {count} tiles and bundles. Log key from {source}.",
          index=checked.index, receipt_size=checked.receipt_size, origin=newest.origin, size=newest.size,
          count=len(checked.fetched), source=key.source))))
