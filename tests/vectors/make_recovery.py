"""Write tests/vectors/recovery_interop.json: recovery on a new device (PROTOCOL.md §14.1) for the browser.

    python tests/vectors/make_recovery.py

Every input is fixed (deployment id, account seed, passphrase, small Argon2id costs, the seed of the
backup's VOPRF key and its Shamir coefficients, the blind, each key server's proof randomness, the
wallet's nonce, reset and unlock nonces and times), so every output but the HPKE-sealed shares is
reproducible byte for byte: handle, salt, hardened, blinded, each key server's evaluated element and
proof, rwd, backup key, sealed wallet, the reset and unlock signatures. The sealed shares are
randomised by X-Wing; the key servers' HPKE seeds are in the file (test-only) so they can be opened.
tests/protocol/test_recovery_vectors.py checks the file against the Python SDK;
web/test/recovery.test.js reproduces it in JavaScript.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "src"))

from consilience.crypto import hpke, oprf, ristretto, shamir, signing, threshold_oprf  # noqa: E402
from consilience.protocol import accounts, recovery  # noqa: E402
from consilience.protocol.encoding import b64u_encode  # noqa: E402

OUT = HERE / "recovery_interop.json"
DEPLOYMENT_ID = bytes.fromhex("d1" * 16)
ACCOUNT_SEED = bytes.fromhex("a5" * 32)
ADMIN_SEED = bytes.fromhex("ad" * 32)
PASSPHRASE = "correct horse battery staple — café"
KDF = recovery.KdfParams(memory_kib=1024, iterations=1, lanes=1)
KEY_SEED = bytes.fromhex("6b" * 32)
#: coefficients a_1 … a_{t-1} of the sharing polynomial (a_0 is k)
COEFFICIENTS = [0x1234567890ABCDEF1234567890ABCDEF]
THRESHOLD = 2
SERVERS = [(1, bytes.fromhex("01" * 32), bytes.fromhex("11" * 32)),
           (2, bytes.fromhex("02" * 32), bytes.fromhex("22" * 32)),
           (4, bytes.fromhex("04" * 32), bytes.fromhex("44" * 32))]  # index 3 left out: indices need not be 1..n
BLIND = ristretto.scalar_from_int(0xB11D)
PROOF_R = {1: ristretto.scalar_from_int(0x71), 2: ristretto.scalar_from_int(0x72), 4: ristretto.scalar_from_int(0x74)}
WALLET = json.dumps({"format": "consilience-wallet/v2", "server": "https://escrow.example", "backup_key": ""},
                    separators=(",", ":")).encode("utf-8")
WALLET_NONCE = bytes.fromhex("0c" * 12)
VERSION = 3
NOW = 1_790_000_000
RESET_NONCE = bytes.fromhex("5e" * 16)
UNLOCK_NONCE = bytes.fromhex("01" * 16)


def build() -> dict[str, Any]:
    account_key = accounts.account_key(ACCOUNT_SEED)
    handle = recovery.handle_bytes(DEPLOYMENT_ID, account_key)
    k, group_key = oprf.derive_key_pair(KEY_SEED, threshold_oprf.DEALING_INFO, oprf.MODE_VOPRF)
    poly = [ristretto.scalar_to_int(k), *COEFFICIENTS]
    shares = {i: ristretto.scalar_from_int(shamir.evaluate_polynomial(poly, i)) for i, _, _ in SERVERS}
    recipients = [recovery.Recipient(i, signing.public_key(ident), hpke.public_key_bytes(hseed))
                  for i, ident, hseed in SERVERS]
    dealt = recovery.deal(PASSPHRASE, DEPLOYMENT_ID, handle, THRESHOLD, recipients, KDF, key_seed=KEY_SEED,
                          shares=shares)
    assert dealt.keys.group_key == group_key
    hardened = recovery.harden(PASSPHRASE, DEPLOYMENT_ID, handle, KDF)
    blind, blinded = oprf.blind(hardened, oprf.MODE_VOPRF, BLIND)
    answers = {}
    for i, _, _ in SERVERS:
        evaluated, proof = oprf.voprf_blind_evaluate(shares[i], threshold_oprf.public_share(shares[i]), [blinded],
                                                     PROOF_R[i])
        answers[i] = (evaluated[0], proof)
    partials = [threshold_oprf.PartialEvaluation(i, [answers[i][0]], answers[i][1]) for i in (1, 4)]
    rwd = recovery.rwd_from_partials(hardened, blind, blinded, partials, dealt.keys)
    assert rwd == oprf.evaluate(k, hardened, oprf.MODE_VOPRF)
    key = recovery.backup_key(rwd, DEPLOYMENT_ID, handle)
    assert key == dealt.backup_key
    wallet_ct = recovery.seal_wallet(key, WALLET, DEPLOYMENT_ID, handle, VERSION, nonce=WALLET_NONCE)
    backup = recovery.Backup(dealt.keys, VERSION, wallet_ct)
    certificate = accounts.issue_certificate(ADMIN_SEED, DEPLOYMENT_ID, account_key, now=NOW)
    audience = signing.public_key(SERVERS[0][1])
    reset = recovery.make_reset(ACCOUNT_SEED, certificate, DEPLOYMENT_ID, audience, now=NOW, nonce=RESET_NONCE)
    unlock = recovery.make_unlock_code(ADMIN_SEED, DEPLOYMENT_ID, handle, now=NOW, nonce=UNLOCK_NONCE)
    return {
        "description": "PROTOCOL.md §14.1 recovery: handle, salt, Argon2id, threshold VOPRF under a per-backup key, "
                       "backup key, sealed wallet, backup document, reset request and unlock code. Test-only secrets.",
        "inputs": {
            "deployment_id": b64u_encode(DEPLOYMENT_ID), "account_seed": b64u_encode(ACCOUNT_SEED),
            "account_key": b64u_encode(account_key), "admin_seed": b64u_encode(ADMIN_SEED),
            "admin_key": b64u_encode(signing.public_key(ADMIN_SEED)), "passphrase": PASSPHRASE,
            "kdf": KDF.to_json(), "threshold": THRESHOLD, "key_seed": b64u_encode(KEY_SEED),
            "k": b64u_encode(k), "coefficients": [b64u_encode(ristretto.scalar_from_int(c)) for c in COEFFICIENTS],
            "servers": [{"index": i, "identity_seed": b64u_encode(ident),
                         "identity_key": b64u_encode(signing.public_key(ident)),
                         "hpke_seed": b64u_encode(hseed), "hpke_public_key": b64u_encode(hpke.public_key_bytes(hseed)),
                         "share": b64u_encode(shares[i]), "proof_randomness": b64u_encode(PROOF_R[i])}
                        for i, ident, hseed in SERVERS],
            "blind": b64u_encode(BLIND), "wallet": b64u_encode(WALLET), "wallet_nonce": b64u_encode(WALLET_NONCE),
            "version": VERSION, "now": NOW, "reset_nonce": b64u_encode(RESET_NONCE),
            "unlock_nonce": b64u_encode(UNLOCK_NONCE),
        },
        "outputs": {
            "handle_bytes": b64u_encode(handle), "handle": recovery.format_handle(handle),
            "salt": b64u_encode(recovery.salt(DEPLOYMENT_ID, handle)), "hardened": b64u_encode(hardened),
            "group_key": b64u_encode(group_key), "blinded": b64u_encode(blinded),
            "share_info": {str(i): b64u_encode(recovery.share_info(DEPLOYMENT_ID, handle, i,
                                                                   threshold_oprf.public_share(shares[i])))
                           for i, _, _ in SERVERS},
            "evaluations": [{"index": i, "public_share": b64u_encode(threshold_oprf.public_share(shares[i])),
                             "evaluated": b64u_encode(answers[i][0]), "proof": b64u_encode(answers[i][1])}
                            for i, _, _ in SERVERS],
            "combined_from": [1, 4], "rwd": b64u_encode(rwd), "backup_key": b64u_encode(key),
            "wallet_aad": b64u_encode(recovery.wallet_aad(DEPLOYMENT_ID, handle, VERSION)),
            "wallet_ct": b64u_encode(wallet_ct), "backup": backup.to_json(),
            "reset": {"certificate": b64u_encode(certificate), "audience": b64u_encode(audience),
                      "issued_at": NOW, "nonce": b64u_encode(RESET_NONCE), "signature": b64u_encode(reset.signature)},
            "unlock_code": unlock,
        },
        "handle_parsing": [
            {"text": recovery.format_handle(handle).lower(), "handle_bytes": b64u_encode(handle)},
            {"text": recovery.format_handle(handle).replace("-", " "), "handle_bytes": b64u_encode(handle)},
            {"text": "OOOO-IIII-LLLL-0000", "handle_bytes": b64u_encode(recovery.parse_handle("0000-1111-1111-0000"))},
            {"text": "7KQ2-M9XD-4RTA-HW3", "error": recovery.BAD_HANDLE},
            {"text": "7KQ2-M9XD-4RTA-HW3U", "error": recovery.BAD_HANDLE},
        ],
    }


def main() -> None:
    OUT.write_text(json.dumps(build(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
