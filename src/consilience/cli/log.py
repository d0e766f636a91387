"""`consilience verify` and `consilience log …`: receipts and the transparency log."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from consilience.cli.common import JSON, handled
from consilience.cli.output import console, emit, when
from consilience.errors import ConsilienceError

if TYPE_CHECKING:
    from consilience.clients.receipts import Verified

app = typer.Typer(no_args_is_help=True, help="Read the transparency log.")


def _render_verified(checked: Verified) -> None:
    r, e = checked.result, checked.event
    console.print(
        f"[green]valid:[/] {e.kind} {checked.entry_id or ''} logged at {when(e.at)} as leaf {r.index} "
        f"of {r.origin} (tree size {r.tree_size})"
        + (f"; consistent with the newer checkpoint of size {r.against_size}" if r.against_size else "")
        + (f"; cosigned by {', '.join(c.name for c in r.cosignatures)}" if r.cosignatures else ""))


@handled
def verify(receipt: Path = typer.Argument(..., help="A receipt file (.tlog-proof)."),
           against: Path = typer.Option(None, "--against",
                                        help="A newer checkpoint, or a bundle from 'consilience log fetch'."),
           log_key: str = typer.Option(None, "--log-key",
                                       help="The log's verifier key, or a file that holds it; default: log.vkey "
                                            "beside the receipt."),
           witness: list[str] = typer.Option([], "--witness", help="A witness vkey whose cosignature is required."),
           as_json: bool = JSON) -> None:
    """Check a receipt offline: exit 0 if valid, non-zero with the reason otherwise."""
    from consilience.clients import receipts

    if not receipt.is_file():
        raise ConsilienceError(f"cannot read {receipt}: no such file")
    vkey = None if log_key is None else receipts.read_log_key(log_key)
    checked = receipts.verify_file(receipt, log_vkey=vkey, against=against, witness_vkeys=tuple(witness))
    emit(checked, as_json, lambda: _render_verified(checked))


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
