"""Adding a counselor (``admin counselor add``): their key in a newly signed document, and their account.

Reporters' envelopes are addressed to exactly the counselors of the document in force, so a
counselor reads only entries escrowed after they were added.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from consilience.crypto import hpke
from consilience.datadir import DataDir
from consilience.errors import InvalidInput
from consilience.i18n import _
from consilience.operator.deployment import escrow_database, load_deployment, next_serial, publish, unseal_admin_key
from consilience.protocol import deployment as dep
from consilience.protocol.encoding import b64u_decode
from consilience.storage import repository


def add_counselor(root: Path, public_file: dict[str, Any], admin_secret: str) -> tuple[dep.Deployment, bytes]:
    """List the counselor's key in a newly signed deployment and create their account; returns its token."""
    if not isinstance(public_file, dict):
        raise InvalidInput(_("a counselor public-key file is a JSON object (from 'consilience counselor keygen')"))
    try:
        name = str(public_file["name"])
        public_key = b64u_decode(public_file["public_key"], field="public_key")
    except KeyError as exc:
        raise InvalidInput(_("counselor public-key file lacks {field}", field=repr(exc.args[0]))) from exc
    key_id = hpke.key_id(public_key)  # validates the key's encoding
    # Optional: a public file made before messaging has none; that counselor can open matches but not send
    # messages until they hand over a new public file (reporters trust only signing keys the document lists).
    signing_key = public_file.get("signing_key")
    if signing_key is not None and not isinstance(signing_key, str):
        raise InvalidInput(_("the counselor public-key file's signing_key is base64url text"))
    signing_key_bytes = None if signing_key is None else b64u_decode(signing_key, length=32, field="signing_key")
    d = load_deployment(root)
    if key_id in {c.key_id for c in d.counselors}:
        raise InvalidInput(_("counselor key of {name} is already in the deployment", name=repr(name)))
    admin_private = unseal_admin_key(root, admin_secret)
    counselor = dep.Counselor(name, key_id, public_key, signing_key_bytes)
    updated = next_serial(d, counselors=(*d.counselors, counselor))
    with escrow_database(root) as db, db.write() as session:
        token = repository.add_counselor_account(session, name, key_id)
    publish(DataDir(Path(root)), updated, admin_private)
    return updated, token
