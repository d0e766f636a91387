"""`consilience witness …`: cosign the transparency log's checkpoints."""

from __future__ import annotations

from pathlib import Path

import typer

from consilience.cli import secrets
from consilience.cli.common import JSON, PASS_ENV, handled, home
from consilience.cli.output import console, emit
from consilience.errors import ConsilienceError

app = typer.Typer(no_args_is_help=True, help="Cosign the transparency log's checkpoints.")

WITNESS_KEY = typer.Option(None, "--key", help="Witness key file (default $CONSILIENCE_HOME/witness.key).")


@app.command("keygen")
@handled
def witness_keygen(name: str = typer.Option(..., help="Key name, e.g. witness.example.org/1."),
                   key: Path = WITNESS_KEY, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    """Create a witness key; prints the verifier key to give the administrator."""
    from consilience.clients import witness

    path = key or home() / "witness.key"
    if path.exists():
        raise ConsilienceError(f"{path} exists; refusing to overwrite a key")
    w = witness.generate(name)
    witness.save(path, w, secrets.passphrase("Choose a key passphrase", env=passphrase_env, confirm=True))
    emit({"key": str(path), "vkey": w.vkey}, as_json, lambda: console.print(w.vkey))


@app.command("cosign")
@handled
def witness_cosign(server: str = typer.Option(..., help="Escrow server URL."),
                   log_key: str = typer.Option(..., "--log-key", help="The log's verifier key."),
                   key: Path = WITNESS_KEY,
                   state: Path = typer.Option(None, help="Last cosigned checkpoint (default beside the key)."),
                   passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    """Cosign the newest checkpoint if it is consistent with the last one cosigned."""
    from consilience.clients import witness

    path = key or home() / "witness.key"
    w = witness.load(path, secrets.passphrase(f"Passphrase for {path}", env=passphrase_env))
    result = witness.cosign_latest(w, server, log_key, state or path.with_name(path.name + ".state.json"))
    emit(result, as_json, lambda: console.print(
        f"Cosigned size {result.size}" + (f" (consistent with {result.previous})" if result.previous else "")))
