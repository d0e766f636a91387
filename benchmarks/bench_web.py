"""The web app's cryptography in a real browser: headless Chromium against libsodium and OpenSSL.

The web app does all of a reporter's and a counselor's cryptography in the
page (PROTOCOL.md §12), in JavaScript (@noble/curves, @noble/hashes,
@hpke/core with X-Wing) where the CLI uses libsodium and OpenSSL through
Python. This measures what that costs, in Debian's Chromium driven by
Playwright for Python (``/usr/bin/chromium``, nothing downloaded), with a
real protocol v2 deployment on loopback (3 key servers 2-of-3 with their
published quorum keys, the escrow server serving a fresh build of the app,
quorum 3..10, one counselor):

* **pure cryptography** on a blank page, with the browser SDK
  (``web/src/sdk/index.js``) bundled by esbuild into the work folder and
  injected as a script (the page is an empty document at a loopback URL
  answered by Playwright's router: ``about:blank`` is not a secure context
  and has no ``crypto.subtle``, which @hpke/core needs): the floor, one ristretto255 variable-base scalar
  multiplication with @noble/curves, against libsodium's
  (``crypto/ristretto.py``) on the same machine — the ratio is the headline;
  the BLS12-381 floors (a G1 multiplication, a pairing); the client's work
  for one identifier in a 2-of-3 threshold VOPRF (blind, verify the two
  partial proofs, combine, finalize) and in protocol v2's quorum layer
  (``quorum.blind``, and ``quorum.combine`` of the real key servers' answers
  for certified accounts, with its pairing check); checking the signed
  deployment document with its quorum-key commitments; ``sealEntry`` for
  one identifier; ``openMatch`` of three entries at quorum 3 from three
  accounts; HPKE
  (X-Wing) seal and open of an envelope-sized message; and Argon2id at the
  default parameters (64 MiB, t=3, p=4, a wallet seal) on the page's main
  thread. Each has its Python counterpart measured on the same inputs'
  shapes (same deployment, record, sizes). Timings use ``performance.now()``
  inside the page in repeated timed runs, reporting the best run and the
  median, as ``common.measure`` does in Python;
* **end to end in the real app** at ``/`` (so the app's CSP applies; any CSP
  violation, uncaught error or request outside the deployment fails the run):
  a reporter joins with an invite (Argon2id in the app's Web Worker),
  writes a record, names a person, and the time from submitting "Put in
  escrow" to the note that the record is in escrow (the server's receipt
  checked and kept in the wallet) is measured in the page, over a few
  records; then the wallet is locked and the time to unlock it (Argon2id in
  the worker, then the wallet opened) is measured the same way.

When Chromium, Playwright or Node.js (with ``web/node_modules``) is missing,
``run`` raises under CI=true and otherwise returns a result marked skipped,
which ``render`` states plainly.

Run alone: ``python benchmarks/bench_web.py [--quick]`` prints markdown.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    REPO,
    Deadline,
    fmt_rate,
    fmt_ratio,
    fmt_time,
    latency_summary,
    log,
    md_table,
    measure,
    run_alone,
)
from consilience.crypto import hpke, oprf, passphrase, ristretto, threshold_oprf  # noqa: E402
from consilience.protocol import identifiers as ids  # noqa: E402
from consilience.protocol import matching, release  # noqa: E402
from consilience.protocol.encoding import b64u_encode  # noqa: E402
from consilience.protocol.entry import seal_entry  # noqa: E402

WEB = REPO / "web"
CHROMIUM = Path("/usr/bin/chromium")
#: As tests/web/browser.py launches it: no sandbox as root, no background connections.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ADMIN_PASSPHRASE = "bench web admin passphrase"
COUNSELOR_PASSPHRASE = "bench web counselor passphrase"
REPORTER_PASSPHRASE = "bench web reporter passphrase 1"
#: Cheap Argon2id for the admin and counselor key files only (setup, not measured).
CHEAP_KDF = {"memory_cost_kib": 8192, "iterations": 1, "lanes": 1}
DEFAULT_KDF = {"memory_cost_kib": passphrase.DEFAULT_MEMORY_COST_KIB,
               "iterations": passphrase.DEFAULT_ITERATIONS, "lanes": passphrase.DEFAULT_LANES}
RECORD = ("On the evening of the team offsite the person I name here followed me out of the venue, "
          "blocked the stairwell and grabbed my arm when I tried to leave. I told a colleague the next "
          "morning but nobody else at the time. Two weeks later they sent messages at night saying my "
          "contract would not be renewed if I mentioned it. I kept screenshots of those messages and "
          "the dates. I am writing this down now so that it exists somewhere, in my own words, "
          "in case anyone else has been through something similar with the same person.")
CONTACT = "signal: @reporter.bench, evenings"
NAMED = ("Person.Bench@Example.com", "email:person.bench@example.com")
#: An empty page at a loopback origin (a secure context), served by Playwright's router, not the network.
BLANK_URL = "http://127.0.0.1:9/consilience-bench.html"
SLOW_MS = 180_000  # Argon2id (64 MiB, t=3, p=4) in JavaScript on a busy machine


#: The targets of the slow profile (issue: for every survivor): escrow and unlock in seconds, first page in bytes.
SLOW_TARGETS = {"escrow": 5.0, "unlock": 8.0, "first_page_bytes": 300 * 1024}
#: The files the first page (/) loads before anything else is used, besides the catalog of the language it
#: shows (``consilience.web.page_files``: each language's words are a file of their own).
FIRST_PAGE = ("index.html", "app.css", "reporter.js")
#: The languages the first page is measured in; the first is the one held against the target.
FIRST_PAGE_LANGUAGES = ("en", "es", "ar")


@dataclass(frozen=True)
class Profile:
    seconds: float  # per in-page / in-process measurement
    runs: int
    argon2_runs: int  # single timed Argon2id calls, in the page and in Python
    escrow_runs: int  # records put in escrow through the app
    unlock_runs: int
    app_seconds: float  # stop starting new app runs after this


FULL = Profile(seconds=1.0, runs=5, argon2_runs=3, escrow_runs=7, unlock_runs=3, app_seconds=300.0)
QUICK = Profile(seconds=0.05, runs=2, argon2_runs=1, escrow_runs=2, unlock_runs=1, app_seconds=120.0)

LABELS = {
    "scalar_mult": "ristretto255 scalar multiplication k·P, variable base (the floor)",
    "scalar_mult_base": "ristretto255 k·G, fixed base",
    "g1_mul": "BLS12-381 G1 multiplication (`mulSecret`)",
    "pairing": "BLS12-381 pairing",
    "oprf_blind": "OPRF client: blind (hash-to-group + 1 mult)",
    "oprf_verify_x2": "OPRF client: verify the 2 partial proofs (`verifyPartial` ×2)",
    "oprf_combine": "OPRF client: combine 2 partials (Lagrange in the exponent)",
    "oprf_finalize": "OPRF client: finalize (invert + 1 mult + SHA-512)",
    "quorum_blind": "quorum: `quorum.blind` (hash to G1 + 1 G1 mult)",
    "quorum_combine": "quorum: `quorum.combine` of 2 key servers' answers, 8 levels, pairing check",
    "seal_entry": "`sealEntry`: 1 identifier, 1 counselor, quorum range 3..10",
    "open_match": "`openMatch`: 3 released entries at quorum 3",
    "deployment_check": "check the signed deployment document and its quorum-key commitments (first time)",
    "hpke_seal": "HPKE X-Wing seal (envelope-sized message)",
    "hpke_open": "HPKE X-Wing open (same)",
}
OPRF_STEPS = ("oprf_blind", "oprf_verify_x2", "oprf_combine", "oprf_finalize", "quorum_blind", "quorum_combine")
PY_NAMES = {
    "scalar_mult": "`ristretto.scalar_mult`, libsodium", "scalar_mult_base": "`ristretto.scalar_mult_base`",
    "g1_mul": "`G1Point.mul_secret`, blst", "pairing": "`bls12381.pairing`",
    "oprf_blind": "`oprf.blind`", "oprf_verify_x2": "`threshold_oprf.verify_partial` ×2",
    "oprf_combine": "`threshold_oprf.combine_verified`", "oprf_finalize": "`oprf.finalize`",
    "quorum_blind": "`quorum.blind`", "quorum_combine": "`quorum.combine`",
    "seal_entry": "`entry.seal_entry`", "open_match": "`release.open_match`",
    "deployment_check": "`deployment.verify` + `quorum_parameters`",
    "hpke_seal": "`hpke.seal`, OpenSSL", "hpke_open": "`hpke.open`",
}

# -- requirements ---------------------------------------------------------------------------------


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def missing_requirement() -> str | None:
    """Why the browser benchmark cannot run here, or None."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (Debian: apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is missing (pip install -e '.[test]')"
    if shutil.which("node") is None:
        return "Node.js is not installed (Debian: apt-get install nodejs npm)"
    if not (WEB / "node_modules" / "esbuild").is_dir():
        return "web/node_modules is missing (run ./scripts/build-web, or npm ci --prefix web)"
    return None


# -- builds ---------------------------------------------------------------------------------------

#: The SDK as one classic script defining window.ConsilienceSDK, bundled as web/build.mjs bundles
#: the app (same target, minified, class names kept, Node's crypto stubbed out).
SDK_BUILD = r"""
import * as esbuild from 'esbuild';
await esbuild.build({
  absWorkingDir: process.cwd(), entryPoints: ['src/sdk/index.js'], outfile: process.env.BENCH_SDK_OUT,
  bundle: true, format: 'iife', globalName: 'ConsilienceSDK', platform: 'browser', target: ['chrome120'],
  minify: true, keepNames: true, sourcemap: false, legalComments: 'none', charset: 'utf8', logLevel: 'warning',
  plugins: [{ name: 'no-node-crypto', setup(b) {
    b.onResolve({ filter: /^(node:)?crypto$/ }, () => ({ path: 'crypto', namespace: 'empty-node-builtin' }));
    b.onLoad({ filter: /.*/, namespace: 'empty-node-builtin' }, () => ({ contents: 'export const webcrypto = undefined;', loader: 'js' }));
  } }],
});
"""


def build_sdk(out: Path) -> Path:
    proc = subprocess.run(["node", "--input-type=module", "-e", SDK_BUILD], cwd=WEB, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "BENCH_SDK_OUT": str(out)})
    if proc.returncode != 0 or not out.is_file():
        raise RuntimeError(f"bundling web/src/sdk/index.js failed:\n{proc.stdout}{proc.stderr}")
    return out


def build_app(out: Path) -> Path:
    """$CONSILIENCE_WEB_STATIC if set (as the browser tests allow), else ``node web/build.mjs --out``."""
    from consilience.web import is_built

    preset = os.environ.get("CONSILIENCE_WEB_STATIC")
    if preset:
        if not is_built(Path(preset)):
            raise RuntimeError(f"CONSILIENCE_WEB_STATIC={preset} holds no finished build")
        return Path(preset).resolve()
    proc = subprocess.run(["node", str(WEB / "build.mjs"), "--out", str(out)], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"the web build failed:\n{proc.stdout}{proc.stderr}")
    return out


# -- in the page ----------------------------------------------------------------------------------

#: Defines window.consilienceBench on a page that already has window.ConsilienceSDK.
BENCH_JS = r"""
window.consilienceBench = (() => {
  const S = window.ConsilienceSDK;
  const te = new TextEncoder();
  const now = () => performance.now() / 1000;
  const median = (a) => { const s = [...a].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
  // common.measure: n calls per run so that all runs take about `seconds`; best run and median.
  async function measure(fn, seconds, runs, isAsync = false, maxOps = 1000000) {
    const loop = isAsync ? async (n) => { for (let i = 0; i < n; i++) await fn(); } : (n) => { for (let i = 0; i < n; i++) fn(); };
    let t = now(); await loop(1);
    const first = Math.max(now() - t, 1e-7);
    let n = Math.max(1, Math.min(Math.floor(maxOps / runs), Math.floor(seconds / runs / first)));
    const k = Math.min(n, 10);
    t = now(); await loop(k);
    const per = Math.max((now() - t) / k, 1e-7);
    n = Math.max(1, Math.min(Math.floor(maxOps / runs), Math.floor(seconds / runs / per)));
    const samples = [];
    for (let r = 0; r < runs; r++) { t = now(); await loop(n); samples.push((now() - t) / n); }
    const best = Math.min(...samples);
    return { seconds_per_op: best, median_seconds_per_op: median(samples), ops: n * runs, per_second: 1 / best };
  }
  function answersFrom(acc) {
    return new Map(Object.entries(acc.answers).map(([i, lv]) => [Number(i),
      new Map(Object.entries(lv).map(([q, z]) => [Number(q), S.b64uDecode(z, 48)]))]));
  }
  async function crypto({ seconds, runs, published, fingerprint, quorumAccounts, blindR, counselorSeed, record, contact, named }) {
    const { Point } = S.ristretto;
    const B = S.bls12381;
    const out = {};
    const k = S.shamir.randomScalarInt();
    const P = Point.BASE.multiply(S.shamir.randomScalarInt());
    out.scalar_mult = await measure(() => P.multiply(k), seconds, runs);
    out.scalar_mult_base = await measure(() => Point.BASE.multiply(k), seconds, runs);

    // One identifier through a 2-of-3 threshold VOPRF, the servers simulated in the page (not timed).
    const shares = S.shamir.splitRandom(S.shamir.randomScalarInt(), 2, 3);
    const sks = new Map(), publics = new Map();
    for (const [i, s] of shares) { sks.set(i, S.ristretto.scalarFromInt(s)); publics.set(i, Point.BASE.multiply(s).toBytes()); }
    const x = te.encode(named[1]);
    const { blind, blinded } = S.oprf.blind(x, S.oprf.MODE_VOPRF);
    const partials = [1, 2].map((i) => {
      const r = S.oprf.voprfBlindEvaluate(sks.get(i), publics.get(i), [blinded]);
      return { index: i, evaluated: r.evaluated, proof: r.proof };
    });
    const verified = partials.map((p) => S.verifyPartial([blinded], p, publics));
    if (verified.some((v) => v === null)) throw new Error('a partial evaluation did not verify');
    const combined = S.combineVerified(verified, 2);
    const output = S.oprf.finalize(x, blind, combined[0]);
    out.oprf_blind = await measure(() => S.oprf.blind(x, S.oprf.MODE_VOPRF), seconds, runs);
    out.oprf_verify_x2 = await measure(() => partials.map((p) => S.verifyPartial([blinded], p, publics)), seconds, runs);
    out.oprf_combine = await measure(() => S.combineVerified(verified, 2), seconds, runs);
    out.oprf_finalize = await measure(() => S.oprf.finalize(x, blind, combined[0]), seconds, runs);

    // Protocol v2's quorum layer on the real deployment's published quorum keys, with the real key
    // servers' answers to B = r·P for three accounts (fetched by the benchmark before the page ran).
    const d = await S.verifyDeployment(published, fingerprint);
    const params = S.quorumParameters(d);
    out.deployment_check = await measure(async () => {
      S.forgetCheckedDeployments();  // the first check of a document: later ones are kept
      return S.quorumParameters(await S.verifyDeployment(published, fingerprint));
    }, seconds, runs, true);
    const request = S.quorum.blind(x, BigInt(blindR));
    const kk = B.randomScalar();
    out.g1_mul = await measure(() => B.mulSecret(request.point, kk), seconds, runs);
    out.pairing = await measure(() => B.pairing(request.point, B.G2Point.BASE), seconds, runs);
    out.quorum_blind = await measure(() => S.quorum.blind(x), seconds, runs);
    const accounts = quorumAccounts.map((acc) => ({ x: S.quorum.abscissaFromBytes(S.b64uDecode(acc.x, 32)), answers: answersFrom(acc) }));
    const combinedShares = accounts.map((acc) => S.quorum.combine(params, request, output, acc.x, acc.answers));
    out.quorum_combine = await measure(() => S.quorum.combine(params, request, output, accounts[0].x, accounts[0].answers), seconds, runs);

    const identifiers = [{ typed: named[0], canonical: named[1] }];
    const seal = (qs) => S.sealEntry({ deployment: d, identifiers, oprfOutputs: [output], quorumShares: [qs], record, contact, quorum: 3 });
    out.seal_entry = await measure(() => seal(combinedShares[0]), seconds, runs, true);

    const seed = S.b64uDecode(counselorSeed, 32);
    const keyId = d.counselors[0].keyId;
    const entries = [];
    for (const qs of combinedShares) {
      const s = await seal(qs);
      entries.push({ entryId: s.entryId, quorum: 3, released: true, envelope: s.envelopes[0].ciphertext, body: s.body });
    }
    const tag = S.matching.matchTag(output);
    const opened = await S.openMatch(tag, entries, seed, keyId, d);
    if (opened.opened.length !== 3) throw new Error(`openMatch opened ${opened.opened.length} of 3: ${JSON.stringify(opened.failed)}`);
    out.open_match = await measure(() => S.openMatch(tag, entries, seed, keyId, d), seconds, runs, true);

    const ptBytes = entries[0].envelope.length - S.hpke.CIPHERTEXT_OVERHEAD;
    const pt = crypto_random(ptBytes);
    const info = te.encode('consilience bench');
    const pk = d.counselors[0].publicKey;
    const ct = await S.hpke.seal(pk, pt, info);
    out.hpke_seal = await measure(() => S.hpke.seal(pk, pt, info), seconds, runs, true);
    out.hpke_open = await measure(() => S.hpke.open(seed, ct, info), seconds, runs, true);
    return { results: out, hpke_plaintext_bytes: ptBytes, oprf_output: S.b64uEncode(output),
             user_agent: navigator.userAgent, cores: navigator.hardwareConcurrency };
  }
  function crypto_random(n) { const b = new Uint8Array(n); globalThis.crypto.getRandomValues(b); return b; }
  async function argon2({ count, bytes }) {
    const data = crypto_random(bytes);
    const samples = [];
    for (let i = 0; i < count; i++) {
      const t = now();
      await S.sealSecret(data, 'a passphrase', 'bench', S.SEALED_DEFAULT_PARAMS);
      samples.push(now() - t);
    }
    return samples;
  }
  return { crypto, argon2 };
})();
"""

#: Start a timer when form `formId` is submitted; stop it when `kind` is reached or #alert shows text.
ARM_JS = r"""
([formId, kind]) => {
  const reached = {
    entries: () => document.getElementById('h-entries')?.checkVisibility() === true,
    escrowed: () => (document.getElementById('note')?.textContent || '').includes('Your record is in escrow'),
  }[kind];
  const t = window.__benchTimer = { start: null, end: null, error: null };
  const onSubmit = (ev) => { if (ev.target.id === formId && t.start === null) t.start = performance.now(); };
  document.addEventListener('submit', onSubmit, { capture: true });
  const obs = new MutationObserver(() => {
    if (t.start === null || t.end !== null) return;
    const alert = (document.getElementById('alert')?.textContent || '').trim();
    if (alert || reached()) {
      t.end = performance.now();
      if (alert) t.error = alert;
      obs.disconnect();
      document.removeEventListener('submit', onSubmit, { capture: true });
    }
  });
  obs.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
}
"""


def _timed(page: Any, form_id: str, kind: str, action: Any) -> float:
    """Arm the in-page timer, run ``action`` (which submits the form), return the seconds it measured."""
    page.evaluate(ARM_JS, [form_id, kind])
    action()
    page.wait_for_function("() => window.__benchTimer.end !== null", timeout=SLOW_MS)
    t = page.evaluate("() => window.__benchTimer")
    if t["error"]:
        raise RuntimeError(f"the app showed an error instead of finishing ({form_id}): {t['error']}")
    return (t["end"] - t["start"]) / 1000


# -- Python counterparts --------------------------------------------------------------------------


def quorum_answers(dep: Any, deployment: Any, count: int) -> tuple[Any, list[dict[str, Any]]]:
    """B = r·P for the benchmark's identifier and the real key servers 1 and 2's answers for ``count`` accounts.

    The accounts are certified with the administrator's key, as ``admin invite`` does; each request is
    signed for its key server (``evaluation.make_request``) and sent to ``POST /v2/evaluate``.
    """
    import httpx

    from consilience.operator.deployment import unseal_admin_key
    from consilience.protocol import accounts, evaluation, quorum

    admin = unseal_admin_key(dep.root, ADMIN_PASSPHRASE)
    request = quorum.blind(NAMED[1].encode())
    element = oprf.blind(NAMED[1].encode(), oprf.MODE_VOPRF)[1]
    levels = list(deployment.quorum_range)
    out = []
    with httpx.Client(timeout=10.0) as http:
        for _ in range(count):
            seed = os.urandom(32)
            cert = accounts.issue_certificate(admin, deployment.deployment_id, accounts.account_key(seed))
            answers: dict[str, dict[str, str]] = {}
            xs = set()
            for server in deployment.key_servers[:deployment.threshold]:
                r = evaluation.make_request(seed, cert, deployment.deployment_id, server.identity_key, [element],
                                            [request.blinded])
                body = {"certificate": b64u_encode(r.certificate), "audience": b64u_encode(r.audience),
                        "issued_at": r.issued_at, "nonce": b64u_encode(r.nonce), "blinded": [b64u_encode(element)],
                        "points": [b64u_encode(request.blinded)], "signature": b64u_encode(r.signature)}
                doc = http.post(f"{server.url}/v2/evaluate", json=body)
                doc.raise_for_status()
                got = doc.json()
                xs.add(got["abscissa"])
                answers[str(server.index)] = {str(q): z for q, z in zip(levels, got["shares"][0], strict=True)}
            assert len(xs) == 1
            out.append({"x": xs.pop(), "answers": answers})
    return request, out


def python_counterparts(p: Profile, deployment: Any, seed: bytes, key_id: bytes, hpke_bytes: int,
                        request: Any, quorum_accounts: list[dict[str, Any]], published: dict[str, Any],
                        fingerprint: bytes) -> dict[str, Any]:
    """The same operations through the Python SDK (libsodium, blst, cryptography/OpenSSL), same shapes."""
    from consilience.crypto.bls12381 import G2Point, Scalar, pairing
    from consilience.protocol import quorum
    from consilience.protocol.encoding import b64u_decode

    out: dict[str, Any] = {}

    def run(name: str, fn: Any) -> None:
        out[name] = measure(fn, seconds=p.seconds, runs=p.runs).to_json()

    scalar, point = ristretto.scalar_random(), ristretto.scalar_mult_base(ristretto.scalar_random())
    run("scalar_mult", lambda: ristretto.scalar_mult(scalar, point))
    run("scalar_mult_base", lambda: ristretto.scalar_mult_base(scalar))
    k = Scalar.random()
    run("g1_mul", lambda: request.point.mul_secret(k))
    g2 = G2Point.generator()
    run("pairing", lambda: pairing(request.point, g2))

    _, shares = threshold_oprf.deal_key(2, 3)
    publics = {i: threshold_oprf.public_share(s) for i, s in shares.items()}
    x = NAMED[1].encode()
    r, b = oprf.blind(x, oprf.MODE_VOPRF)
    partials = []
    for i in (1, 2):
        z, pr = oprf.voprf_blind_evaluate(shares[i], publics[i], [b])
        partials.append(threshold_oprf.PartialEvaluation(i, z, pr))
    verified = [threshold_oprf.verify_partial([b], q, publics) for q in partials]
    assert all(v is not None for v in verified)
    combined = threshold_oprf.combine_verified(verified, 2)  # type: ignore[arg-type]
    output = oprf.finalize(x, r, combined[0])
    run("oprf_blind", lambda: oprf.blind(x, oprf.MODE_VOPRF))
    run("oprf_verify_x2", lambda: [threshold_oprf.verify_partial([b], q, publics) for q in partials])
    run("oprf_combine", lambda: threshold_oprf.combine_verified(verified, 2))  # type: ignore[arg-type]
    run("oprf_finalize", lambda: oprf.finalize(x, r, combined[0]))

    params = deployment.quorum_parameters()
    from consilience.protocol import deployment as deployment_doc

    def first_check() -> object:  # later checks of the same document are kept (deployment._verified)
        deployment_doc.forget_checked_documents()
        return deployment_doc.verify(published, fingerprint).quorum_parameters()

    run("deployment_check", first_check)
    run("quorum_blind", lambda: quorum.blind(x))
    accs = [(quorum.abscissa_from_bytes(b64u_decode(a["x"], length=32)),
             {int(i): {int(q): b64u_decode(z, length=48) for q, z in lv.items()} for i, lv in a["answers"].items()})
            for a in quorum_accounts]
    checked = [quorum.combine(params, request, output, xa, ans) for xa, ans in accs]
    run("quorum_combine", lambda: quorum.combine(params, request, output, accs[0][0], accs[0][1]))

    named = ids.normalise_many([NAMED[0]])
    assert named[0].canonical == NAMED[1], named[0].canonical

    def seal(qs: Any) -> Any:
        return seal_entry(deployment=deployment, identifiers=named, oprf_outputs=[output], quorum_shares=[qs],
                          record=RECORD, contact=CONTACT, quorum=3)

    run("seal_entry", lambda: seal(checked[0]))
    entries = []
    for qs in checked:
        s = seal(qs)
        entries.append(release.MatchedEntry(s.entry_id, 3, True, s.envelopes[key_id], s.body))
    tag = matching.match_tag(output)
    if len(release.open_match(tag, entries, seed, key_id, deployment).opened) != 3:
        raise RuntimeError("Python open_match did not open the three entries")
    run("open_match", lambda: release.open_match(tag, entries, seed, key_id, deployment))

    pt, info = os.urandom(hpke_bytes), b"consilience bench"
    pk = hpke.public_key_bytes(seed)
    ct = hpke.seal(pk, pt, info)
    run("hpke_seal", lambda: hpke.seal(pk, pt, info))
    run("hpke_open", lambda: hpke.open(seed, ct, info))
    return out


def python_argon2(count: int, data_bytes: int) -> list[float]:
    data = os.urandom(data_bytes)
    samples = []
    for _ in range(count):
        a = time.perf_counter()
        passphrase.seal(data, "a passphrase", "bench", **DEFAULT_KDF)
        samples.append(time.perf_counter() - a)
    return samples


def _best_median(samples: list[float]) -> dict[str, Any]:
    return {"best": min(samples), **latency_summary(samples)}


# -- the run --------------------------------------------------------------------------------------


def run(quick: bool = False, work: Path | None = None) -> dict[str, Any]:
    p = QUICK if quick else FULL
    reason = missing_requirement()
    if reason:
        if in_ci():
            raise RuntimeError(f"the web benchmark cannot run: {reason} (CI=true: it must run)")
        log(f"web: skipped: {reason}")
        return {"profile": "quick" if quick else "full", "skipped": reason}

    from playwright.sync_api import sync_playwright

    from consilience.clients.escrow_client import EscrowClient
    from consilience.local import loopback

    sys.path.insert(0, str(REPO))
    from tests.web import ui
    from tests.web.browser import Tab

    own = work is None
    work = Path(tempfile.mkdtemp(prefix="consilience-bench-web-")) if own else Path(work)
    work.mkdir(parents=True, exist_ok=True)
    try:
        log("web: building the app and the SDK bundle")
        static = build_app(work / "static")
        sdk_js = build_sdk(work / "sdk-bundle.js").read_text()
        dep = loopback.create(work / "deployment", ADMIN_PASSPHRASE, quorum=3, kdf_params=CHEAP_KDF)
        with dep.start(env={"CONSILIENCE_WEB_STATIC": str(static)}):
            keys = dep.add_counselor("Bench Counselor", dep.root / "counselor" / "counselor.key",
                                     COUNSELOR_PASSPHRASE)
            with EscrowClient(dep.url) as client:
                published = client._call("GET", "/v2/deployment")  # the document exactly as served
                deployment = client.deployment(dep.admin_fingerprint, published=client.published_deployment())
            key_id = deployment.counselors[0].key_id
            request, quorum_accounts = quorum_answers(dep, deployment, 3)
            wallet_bytes = 2048  # about a wallet with one record: Argon2id dominates, not the AEAD
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                                     headless=True)
                try:
                    version = browser.version
                    log(f"web: Chromium {version}: pure cryptography on a blank page")
                    context = browser.new_context()
                    page = context.new_page()
                    # A blank page, but at a loopback origin: about:blank is not a secure context, so it
                    # has no crypto.subtle, which @hpke/core needs. The page is answered by Playwright
                    # (nothing listens there) and has no CSP, so the scripts can be injected.
                    context.route(BLANK_URL, lambda route: route.fulfill(
                        status=200, content_type="text/html", body="<!doctype html><title>bench</title>"))
                    page.goto(BLANK_URL)
                    page.add_script_tag(content=sdk_js)
                    page.add_script_tag(content=BENCH_JS)
                    in_page = page.evaluate("(a) => consilienceBench.crypto(a)", {
                        "seconds": p.seconds, "runs": p.runs, "published": published,
                        "fingerprint": dep.admin_fingerprint_b64u, "quorumAccounts": quorum_accounts,
                        "blindR": str(int(request.r)),
                        "counselorSeed": b64u_encode(keys.seed), "record": RECORD, "contact": CONTACT,
                        "named": list(NAMED)})
                    for name, v in in_page["results"].items():
                        log(f"  browser {name}: {fmt_time(v['seconds_per_op'])}")
                    log("web: Argon2id (64 MiB, t=3, p=4) on the page's main thread")
                    argon_browser = page.evaluate("(a) => consilienceBench.argon2(a)",
                                                  {"count": p.argon2_runs, "bytes": wallet_bytes})
                    context.close()

                    log("web: the real app: join, put records in escrow, unlock")
                    try:
                        app = app_timings(browser, dep, p, ui, Tab)
                        from tests.web.browser import SLOW_PHONE as t
                        log(f"web: the same on a slow phone: CPU {t.cpu_rate:g}x slower, {t.kbit_per_s:g} kbit/s, "
                            f"{t.latency_ms:g} ms round trip")
                        slow_profile = Profile(seconds=p.seconds, runs=p.runs, argon2_runs=p.argon2_runs,
                                               escrow_runs=min(3, p.escrow_runs), unlock_runs=min(2, p.unlock_runs),
                                               app_seconds=p.app_seconds)
                        app["slow"] = app_timings(browser, dep, slow_profile, ui, Tab, throttle=t)
                        app["first_page"] = first_page_sizes(static)
                    except Exception as exc:  # noqa: BLE001 - reported in the document, not hidden
                        if in_ci():
                            raise
                        app = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"}
                        log(f"web: the app's flow failed: {app['error']}")
                finally:
                    browser.close()
            log("web: the Python counterparts")
            python = python_counterparts(p, deployment, keys.seed, key_id, in_page["hpke_plaintext_bytes"],
                                         request, quorum_accounts, published, dep.admin_fingerprint)
            argon_python = python_argon2(p.argon2_runs, wallet_bytes)
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)
    crypto = {name: {"label": LABELS[name], "browser": in_page["results"][name], "python": python.get(name)}
              for name in LABELS}
    return {
        "profile": "quick" if quick else "full",
        "browser": {"chromium": version, "user_agent": in_page["user_agent"], "cores": in_page["cores"]},
        "crypto": crypto,
        "hpke_plaintext_bytes": in_page["hpke_plaintext_bytes"],
        "argon2": {"params": dict(DEFAULT_KDF), "browser": _best_median(argon_browser),
                   "python": _best_median(argon_python), "worker_unlock": app.get("unlock")},
        "app": app,
        "limits": {"seconds": p.seconds, "runs": p.runs, "argon2_runs": p.argon2_runs,
                   "escrow_runs": p.escrow_runs, "unlock_runs": p.unlock_runs, "app_seconds": p.app_seconds},
    }


def app_timings(browser: Any, dep: Any, p: Profile, ui: Any, tab_class: Any,
                throttle: Any = None) -> dict[str, Any]:
    """A reporter in the real app at /: join, put records in escrow, lock and unlock; seconds in the page.
    ``throttle`` (tests/web/browser.Throttle): the same on a slow phone and network, the first page's load timed
    too; the Argon2id worker runs unthrottled (Chromium throttles pages only) and service workers are blocked,
    so every request goes through the emulated network and the first load is a first visit."""
    from tests.web.browser import origin

    origins = {origin(u) for u in [dep.url, *dep.keyserver_urls]}
    context = browser.new_context(base_url=dep.url, **({"service_workers": "block"} if throttle else {}))
    try:
        tab = tab_class(context.new_page(), context, origins).watch()
        page = tab.page
        first_load = None
        if throttle:
            throttle.apply(context, page)
            a = time.perf_counter()
            page.goto(dep.url + "/")
            page.get_by_role("link", name="I have an invite").wait_for(timeout=SLOW_MS)
            first_load = time.perf_counter() - a
            log(f"  first page (until 'I have an invite' shows): {fmt_time(first_load)}")
        else:
            page.goto(dep.url + "/")
        invite = dep.invites(1)[0]
        join = _timed(page, "join-form", "entries", lambda: ui.join(page, invite, CONTACT, REPORTER_PASSPHRASE))
        log(f"  join (wallet created, Argon2id in the worker): {fmt_time(join)}")
        deadline = Deadline(p.app_seconds)
        escrows, walls = [], []
        who = {"details": {"what": "Followed and grabbed at the team offsite"}, "record": RECORD}
        for i in range(p.escrow_runs):
            if deadline.passed() and escrows:
                break
            ui.write_record(page, who)
            ui.fill_escrow(page, [("Email address", f"person-{os.urandom(5).hex()}-{i}@example.com", None)])
            button = page.get_by_role("button", name="Put in escrow")
            a = time.perf_counter()
            escrows.append(_timed(page, "escrow-form", "escrowed", button.click))
            walls.append(time.perf_counter() - a)
            log(f"  escrow {i + 1}: {fmt_time(escrows[-1])}")
        unlocks = []
        for i in range(p.unlock_runs):
            if deadline.passed() and unlocks:
                break
            page.locator("#lock").click()
            page.locator("#unlock-box").wait_for(state="visible")

            def unlock() -> None:
                page.locator("#unlock-pass").fill(REPORTER_PASSPHRASE)
                page.locator("#unlock-form").get_by_role("button", name="Unlock").click()

            unlocks.append(_timed(page, "unlock-form", "entries", unlock))
            log(f"  unlock {i + 1}: {fmt_time(unlocks[-1])}")
        try:
            tab.assert_clean()
        except AssertionError as exc:
            raise RuntimeError(f"the app was not clean during the benchmark: {exc}") from exc
        return {"join": join, "escrow": latency_summary(escrows), "escrow_samples": escrows,
                "escrow_wall": latency_summary(walls), "unlock": latency_summary(unlocks),
                "unlock_samples": unlocks, "first_load": first_load,
                "throttle": None if throttle is None else {"cpu_rate": throttle.cpu_rate,
                                                           "latency_ms": throttle.latency_ms,
                                                           "kbit_per_s": throttle.kbit_per_s}}
    finally:
        context.close()


# -- rendering ------------------------------------------------------------------------------------


def first_page_sizes(static: Path) -> dict[str, Any]:
    """Bytes of the files the first page loads, its language's catalog included: as built, and as the escrow
    server sends them to a browser (``services/escrow/web.gzipped``). ``served`` and ``gzip`` are English's
    (what the target is held against); ``languages`` has each of FIRST_PAGE_LANGUAGES, with its files."""
    from consilience.services.escrow.web import gzipped
    from consilience.web import page_files

    languages = {}
    for lang in FIRST_PAGE_LANGUAGES:
        names = page_files("index.html", lang, static)
        datas = [(static / name).read_bytes() for name in names]
        languages[lang] = {"files": list(names), "served": sum(len(d) for d in datas),
                           "gzip": sum(len(gzipped(hashlib.sha256(d).hexdigest(), d)) for d in datas)}
    first = languages[FIRST_PAGE_LANGUAGES[0]]
    return {"served": first["served"], "gzip": first["gzip"], "languages": languages}


def _oprf_total(side: dict[str, Any]) -> float:
    return sum(side[k]["seconds_per_op"] for k in OPRF_STEPS)


def render(results: dict[str, Any]) -> str:
    if results.get("skipped"):
        return ("**Not measured on this machine**: " + results["skipped"] + ". No numbers are reported for "
                "the web app; install the missing piece and run `python benchmarks/bench_web.py`.\n")
    cr = results["crypto"]
    b_floor = cr["scalar_mult"]["browser"]["seconds_per_op"]
    p_floor = cr["scalar_mult"]["python"]["seconds_per_op"]
    br = results["browser"]
    lim = results["limits"]
    out = [f"Headless Chromium {br['chromium']} ({br['cores']} logical CPUs visible to the page), driven by "
           "Playwright for Python. Pure cryptography runs on a blank page (an empty document at a loopback "
           "URL, so a secure context with WebCrypto, and without the app's CSP) with the browser SDK "
           "(`web/src/sdk/index.js`) bundled by esbuild as the app's build bundles it; each row calls the function "
           f"in {lim['runs']} timed runs of about {lim['seconds'] / lim['runs'] * 1e3:.0f} ms each, timed with "
           "`performance.now()` in the page (coarsened to 100 µs without cross-origin isolation, hence runs of "
           "many calls), and reports the best run and the median. The Python column is the same operation "
           "through the Python SDK on the same machine (`common.measure`).", "",
           "### The floor, and the cryptography a reporter and a counselor run", "",
           f"One ristretto255 scalar multiplication costs **{fmt_time(b_floor)}** with @noble/curves in the "
           f"browser and {fmt_time(p_floor)} with libsodium in Python: **{fmt_ratio(b_floor / p_floor)}**; one "
           f"BLS12-381 G1 multiplication {fmt_time(cr['g1_mul']['browser']['seconds_per_op'])} against "
           f"{fmt_time(cr['g1_mul']['python']['seconds_per_op'])} with blst "
           f"(**{fmt_ratio(cr['g1_mul']['browser']['seconds_per_op'] / cr['g1_mul']['python']['seconds_per_op'])}**)"
           ", and a pairing "
           f"{fmt_time(cr['pairing']['browser']['seconds_per_op'])} against "
           f"{fmt_time(cr['pairing']['python']['seconds_per_op'])}. The quorum rows use the loopback deployment's "
           "published quorum keys and the real key servers' answers for three certified accounts (fetched "
           "by the benchmark with signed `POST /v2/evaluate` requests; the page then combines and checks them, "
           "seals three entries and opens the match, as the app does).", ""]
    rows = []
    for name, v in cr.items():
        b, py = v["browser"], v["python"]
        rows.append([v["label"], fmt_time(b["seconds_per_op"]), fmt_time(b["median_seconds_per_op"]),
                     f"{fmt_time(py['seconds_per_op'])} ({PY_NAMES[name]})" if py else "—",
                     fmt_ratio(b["seconds_per_op"] / py["seconds_per_op"]) if py else "—",
                     fmt_ratio(b["seconds_per_op"] / b_floor)])
    bt = _oprf_total({k: cr[k]["browser"] for k in OPRF_STEPS})
    pt = _oprf_total({k: cr[k]["python"] for k in OPRF_STEPS})
    rows.append(["**key-server client work per identifier** (VOPRF + quorum rows)", f"**{fmt_time(bt)}**", "",
                 f"{fmt_time(pt)}",
                 f"**{fmt_ratio(bt / pt)}**", f"**{fmt_ratio(bt / b_floor)}**"])
    out += [md_table(["operation", "browser (best)", "browser (median)", "Python (best)", "browser ÷ Python",
                      "× browser scalar mult"], rows), "",
            f"The HPKE message is {results['hpke_plaintext_bytes']:,} bytes, the size of the envelope "
            "`sealEntry` encrypts to a counselor for one identifier with the deployment's quorum range 3..10.", ""]

    a = results["argon2"]
    kdf = a["params"]
    unlock = a["worker_unlock"] or {}
    out += ["### Argon2id at the default parameters", "",
            f"{kdf['memory_cost_kib'] // 1024} MiB, t={kdf['iterations']}, p={kdf['lanes']}: one wallet seal "
            "(`sealSecret` / `passphrase.seal`), single timed calls. JavaScript (@noble/hashes `argon2idAsync`) "
            "runs the lanes one after the other on one thread.", "",
            md_table(["where", "n", "best", "median"], [
                ["browser, the page's main thread", a["browser"]["count"], fmt_time(a["browser"]["best"]),
                 fmt_time(a["browser"]["p50"])],
                ["Python, `cryptography` (OpenSSL)", a["python"]["count"], fmt_time(a["python"]["best"]),
                 fmt_time(a["python"]["p50"])],
                ["browser ÷ Python", "", fmt_ratio(a["browser"]["best"] / a["python"]["best"]),
                 fmt_ratio(a["browser"]["p50"] / a["python"]["p50"])],
            ], align="lrrr"), ""]

    app = results["app"]
    if app.get("error"):
        out += ["### End to end in the web app", "",
                "**Not measured in this run**: the app did not complete the reporter's flow on this revision of "
                f"`web/` ({app['error']}). The cryptography above is the browser SDK's, measured directly.", ""]
        return "\n".join(out)
    es, ew = app["escrow"], app["escrow_wall"]
    out += ["### End to end in the web app", "",
            "The real app at `/` served by the escrow server of a loopback deployment (its CSP applies; the run "
            "fails on any CSP violation, uncaught error or request outside the deployment). One reporter joins "
            "with an invite, then for each record: write it, name one new person (not timed), submit \"Put in "
            "escrow\". Times are taken in the page with `performance.now()`, from the form's submit event to the "
            "moment the page shows the result (a MutationObserver); the escrow path includes fetching and "
            "checking the signed deployment document, signed `POST /v2/evaluate` requests to 2 key servers, "
            "checking and combining their answers (VOPRF proofs, `quorum.combine`), `sealEntry`, keeping a copy "
            "in the wallet (re-sealed with the kept key, no Argon2id), "
            "the POST, checking the transparency-log receipt and saving it in the wallet.", "",
            md_table(["step", "n", "p50", "min", "max"], [
                ["\"Put in escrow\" → receipt verified and kept", es["count"], fmt_time(es["p50"]),
                 fmt_time(min(app["escrow_samples"])), fmt_time(es["max"])],
                ["the same, wall clock seen by Playwright", ew["count"], fmt_time(ew["p50"]), "", fmt_time(ew["max"])],
                ["unlock the wallet (Argon2id in the Web Worker, then open it)", unlock["count"],
                 fmt_time(unlock["p50"]), fmt_time(min(app["unlock_samples"])), fmt_time(unlock["max"])],
                ["join: create the wallet (Argon2id in the worker, register, save)", 1, fmt_time(app["join"]),
                 "", ""],
            ], align="lrrrr"), ""]
    out += slow_section(app)
    return "\n".join(out)


def _met(value: float, target: float) -> str:
    return "met" if value <= target else f"**not met** ({fmt_ratio(value / target)} the target)"


def slow_section(app: dict[str, Any]) -> list[str]:
    """The same flow on a slow phone and network, against the targets."""
    slow, sizes = app["slow"], app["first_page"]
    t = SimpleNamespace(**slow["throttle"])  # as measured (render also runs from the raw JSON alone)
    estimate = slow["unlock"]["p50"] + (t.cpu_rate - 1) * app["unlock"]["p50"]
    es, un = slow["escrow"], slow["unlock"]
    kib = SLOW_TARGETS["first_page_bytes"] / 1024
    by_language = sizes.get("languages", {})
    catalog = by_language.get("en", {}).get("files", [])[len(FIRST_PAGE):]
    files = ", ".join([*FIRST_PAGE, *(f"its English catalog {name}" for name in catalog)])
    others = [f"{name} {by_language[lang]['gzip'] / 1024:,.0f} KiB"
              for lang, name in (("es", "in Spanish"), ("ar", "in Arabic")) if lang in by_language]
    also = f" ({', '.join(others)}, each with its own catalog instead)" if others else ""
    return [
        "### On a cheap phone and a slow network", "",
        f"The same flow in a new context, the page's CPU slowed {t.cpu_rate:g}× and its network emulated at "
        f"{t.kbit_per_s:g} kbit/s each way with {t.latency_ms:g} ms round trip, through the DevTools protocol "
        "(`Emulation.setCPUThrottlingRate`, `Network.emulateNetworkConditions`), service workers blocked so it "
        "is a first visit. Chromium throttles pages only (a worker's DevTools session refuses: \"Operation is "
        "only supported for pages, not workers\"), so the Argon2id Web Worker runs at full speed and the unlock "
        "and join rows are lower bounds of a slow phone's; the estimate row adds the worker's share slowed as "
        f"much, taking the whole unthrottled unlock as that share ({t.cpu_rate:g}× it, on top). The first page's files "
        f"({files}) are {sizes['served'] / 1024:,.0f} KiB as built and "
        f"{sizes['gzip'] / 1024:,.0f} KiB as the escrow server sends them (gzip){also}; the target is {kib:,.0f} KiB "
        "compressed: "
        f"{_met(sizes['gzip'], SLOW_TARGETS['first_page_bytes'])}.", "",
        md_table(["step", "n", "p50", "max", "target"], [
            ["first page, until its first link shows", 1, fmt_time(slow["first_load"]), "", ""],
            ["\"Put in escrow\" → receipt verified and kept", es["count"], fmt_time(es["p50"]), fmt_time(es["max"]),
             f"≤ {SLOW_TARGETS['escrow']:g} s: {_met(es['p50'], SLOW_TARGETS['escrow'])}"],
            ["unlock the wallet (worker unthrottled)", un["count"], fmt_time(un["p50"]), fmt_time(un["max"]),
             f"≤ {SLOW_TARGETS['unlock']:g} s: {_met(un['p50'], SLOW_TARGETS['unlock'])}"],
            [f"unlock, the worker's share slowed {t.cpu_rate:g}× too (estimate)", "", fmt_time(estimate), "",
             f"≤ {SLOW_TARGETS['unlock']:g} s: {_met(estimate, SLOW_TARGETS['unlock'])}"],
            ["join (worker unthrottled)", 1, fmt_time(slow["join"]), "", ""],
        ], align="lrrrl"), ""]


def headline(results: dict[str, Any]) -> list[list[str]]:
    if results.get("skipped"):
        return [["web app in the browser", f"not measured: {results['skipped']}", ""]]
    cr = results["crypto"]
    b_floor = cr["scalar_mult"]["browser"]["seconds_per_op"]
    p_floor = cr["scalar_mult"]["python"]["seconds_per_op"]
    bt = _oprf_total({k: cr[k]["browser"] for k in OPRF_STEPS})
    seal = cr["seal_entry"]["browser"]["seconds_per_op"]
    a, app = results["argon2"], results["app"]
    return [
        ["browser: ristretto255 scalar multiplication (@noble/curves, Chromium)",
         f"{fmt_time(b_floor)} ({fmt_rate(1 / b_floor)})", f"{fmt_ratio(b_floor / p_floor)} libsodium"],
        ["browser: BLS12-381 G1 multiplication / pairing (@noble/curves)",
         f"{fmt_time(cr['g1_mul']['browser']['seconds_per_op'])} / {fmt_time(cr['pairing']['browser']['seconds_per_op'])}",
         f"{fmt_ratio(cr['g1_mul']['browser']['seconds_per_op'] / cr['g1_mul']['python']['seconds_per_op'])} blst"],
        ["browser: key-server client work per identifier (VOPRF + quorum)", fmt_time(bt), fmt_ratio(bt / b_floor)],
        ["browser: `sealEntry`, 1 identifier", fmt_time(seal), fmt_ratio(seal / b_floor)],
        ["browser: `openMatch`, 3 entries", fmt_time(cr["open_match"]["browser"]["seconds_per_op"]), ""],
        ["browser: Argon2id 64 MiB, t=3, p=4", fmt_time(a["browser"]["best"]),
         f"{fmt_ratio(a['browser']['best'] / a['python']['best'])} Python (OpenSSL)"],
        *([["web app: not measured", app["error"][:120], ""]] if app.get("error") else [
            ["web app: \"Put in escrow\" → receipt verified (p50)", fmt_time(app["escrow"]["p50"]), ""],
            ["web app: unlock a wallet, Argon2id in a Web Worker (p50)", fmt_time(app["unlock"]["p50"]), ""]]),
    ]


if __name__ == "__main__":
    raise SystemExit(run_alone(__doc__, run, render))
