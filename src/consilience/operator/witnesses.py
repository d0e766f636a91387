"""Adding a witness (``admin witness add``): the escrow server accepts cosignatures only from the
witnesses the signed document lists (PROTOCOL.md §11)."""

from __future__ import annotations

from pathlib import Path

from consilience.datadir import DataDir
from consilience.errors import InvalidInput
from consilience.i18n import _
from consilience.operator.deployment import load_deployment, next_serial, publish, unseal_admin_key
from consilience.protocol import deployment as dep
from consilience.tlog import checkpoint, notes


def add_witness(root: Path, vkey: str, admin_secret: str) -> dep.Deployment:
    """List a witness's cosignature key in a newly signed deployment document.

    The key may be given as a cosignature/v1 vkey (type 0x04) or as an ordinary Ed25519 vkey
    (type 0x01); it is listed as given, and verified the same way either way (PROTOCOL.md §11).
    """
    vkey = vkey.strip()
    witness = checkpoint.CosignatureV1Verifier.from_vkey(vkey)  # a well-formed 0x04 or 0x01 key, or InvalidInput
    d = load_deployment(root)
    if any(checkpoint.CosignatureV1Verifier.from_vkey(w).public_key == witness.public_key for w in d.witnesses):
        raise InvalidInput(_("that witness's key is already in the deployment (perhaps in the other vkey form, or "
                             "under another name)"))
    if len(d.witnesses) >= notes.MAX_SIGNATURES - 1:
        raise InvalidInput(_("a deployment lists at most {max_signatures} witnesses: with the log's own line, a "
                             "checkpoint cosigned by all of them must stay within the {limit} signatures "
                             "a verifier accepts",
                             max_signatures=notes.MAX_SIGNATURES - 1, limit=notes.MAX_SIGNATURES))
    if witness.public_key == d.log_public_key:
        raise InvalidInput(_("that is the log's own key; a witness must hold a key of its own. Ask the witness's "
                             "operator for the key their 'consilience witness keygen' printed."))
    admin_private = unseal_admin_key(root, admin_secret)
    updated = next_serial(d, witnesses=(*d.witnesses, vkey))
    publish(DataDir(Path(root)), updated, admin_private)
    return updated
