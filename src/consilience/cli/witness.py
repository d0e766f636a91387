"""`consilience witness …`: cosign the transparency log's checkpoints."""

from __future__ import annotations

from pathlib import Path

import typer

from consilience.cli import secrets
from consilience.cli.common import JSON, PASS_ENV, handled, home
from consilience.cli.output import console, emit
from consilience.errors import ConsilienceError
from consilience.i18n import N_, _

app = typer.Typer(no_args_is_help=True, help=_("Cosign the transparency log's checkpoints."))

WITNESS_KEY = typer.Option(None, "--key", help=_("Witness key file (default $CONSILIENCE_HOME/witness.key)."))


@app.command("keygen", help=_("Create a witness key; prints the verifier key to give the administrator.\n\nThe "
                              "first line is the key to hand out (a cosignature/v1 vkey, type 0x04). The second is "
                              "the same key in the ordinary Ed25519 form (type 0x01), for a log or tool that asks "
                              "for that form; Consilience accepts either."))
@handled
def witness_keygen(name: str = typer.Option(..., help=_("Key name, e.g. witness.example.org/1.")),
                   key: Path = WITNESS_KEY, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.clients import witness

    path = key or home() / "witness.key"
    if path.exists():
        raise ConsilienceError(_("{path} exists; refusing to overwrite a key", path=path))
    w = witness.generate(name)
    witness.save(path, w, secrets.passphrase(_("Choose a key passphrase"), env=passphrase_env, confirm=True))

    def show() -> None:
        console.print(w.vkey, soft_wrap=True, highlight=False)
        console.print(_("(the same key as an ordinary Ed25519 vkey, for tools that want that form: {ed25519_vkey})",
                        ed25519_vkey=w.ed25519_vkey),
                      soft_wrap=True, highlight=False)

    emit({"key": str(path), "vkey": w.vkey, "ed25519_vkey": w.ed25519_vkey}, as_json, show)


LOG_KEY_HINT = N_("A witness takes the log key from the deployment document with --admin-fingerprint, or from a "
                "file the administrator hands out (--log-key FILE).")


@app.command("cosign", help=_("Cosign the newest checkpoint if it is consistent with the last one cosigned.\n\nThe "
                              "first time, give the log key with --admin-fingerprint (or --log-key); it is remembered "
                              "beside the state, and later runs need neither."))
@handled
def witness_cosign(server: str = typer.Option(..., help=_("Escrow server URL.")),
                   admin_fingerprint: str = typer.Option(
                       None, "--admin-fingerprint",
                       help=_("The administrator's fingerprint, as they gave it to you: the log key is then taken "
                              "from the deployment document the server publishes, checked to be signed by them.")),
                   log_key: str = typer.Option(None, "--log-key",
                                               help=_("The log's verifier key, or a file that holds it (instead of "
                                                      "--admin-fingerprint).")),
                   key: Path = WITNESS_KEY,
                   state: Path = typer.Option(None, help=_("Last cosigned checkpoint (default beside the key).")),
                   passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.clients import receipts, witness

    path = key or home() / "witness.key"
    state_path = state or path.with_name(path.name + ".state.json")
    if admin_fingerprint is not None and log_key is not None:
        raise ConsilienceError(_("give --admin-fingerprint or --log-key, not both"))
    if log_key is not None:
        vkey = receipts.read_log_key(log_key, hint=_(LOG_KEY_HINT))
    elif admin_fingerprint is not None:
        vkey = witness.log_key_from_deployment(server, admin_fingerprint)
    else:
        remembered = witness.remembered_log_key(state_path)
        if remembered is None:
            raise ConsilienceError(_("This witness has not cosigned this log before, so it needs the log's key. "
                                     "{log_key_hint}", log_key_hint=_(LOG_KEY_HINT)))
        vkey = remembered
    w = secrets.unlock(_("Passphrase for {path}", path=path), lambda secret: witness.load(path, secret),
                       env=passphrase_env)
    result = witness.cosign_latest(w, server, vkey, state_path)
    emit(result, as_json, lambda: console.print(
        _("Cosigned size {size}", size=result.size)
        + (_(" (consistent with {previous})", previous=result.previous) if result.previous else "")))
