"""The "protocol" section of tests/vectors/interop.json (web SDK interop).

Everything here is made by the Python SDK from fixed inputs (a seeded RNG
where the corpus is mutated), so ``build()`` is deterministic and
tests/test_interop_protocol.py can rebuild it and compare with the file:

* ``identifiers``: a wide corpus of typed identifiers (the unit tests'
  strings, every region's example phone numbers in national and international
  form, Unicode edge cases and seeded mutations of valid inputs) with the
  canonical form, display string and OPRF input Python makes, or its refusal
  message. web/test/protocol.test.js must reproduce every one. Beside them,
  ``platforms``: the data fields of every identifier platform record (kind,
  label, aliases, hosts, examples, patterns, reserved paths...), which the
  browser's registry must equal field for field; the corpus checks the code.
* ``unicode``: SHA-256 digests over per-code-point results of the Unicode
  functions the normaliser relies on (lower-casing, NFKC, isalnum, nameprep),
  so the browser's Unicode data is checked against Python's for every code point.
* ``body``: entry bodies (structured and not) and their exact bytes (body v2); refusals,
  a protocol v1 body among them.
* ``dkg``: one recorded run of the key servers' key generation for the deployment below
  (protocol/dkg.py): the board's deals and confirmations, a complaint and an answer, and
  refused messages. Deals carry HPKE ciphertexts, which are random, so the run is recorded
  in interop.json and read back by the next build (a build without one runs the key
  generation anew); everything else follows from fixed seeds, and each recorded deal must
  carry the commitments its key server's fixed dealer seed gives.
* ``deployment``: the signed deployment document v2 with the run's quorum keys and every
  key server's confirmation, the pinned fingerprint, the same document before the key
  generation (asking its key servers to generate: no VOPRF key nor public shares yet), and
  tampered copies with the refusal each must get. ``renewed``: the document asking for a
  resharing of those keys to two of the key servers (``key_change``), the document
  publishing the resharing's result (kind ``reshare``, generation 1 at epoch 2, the three
  previous holders as its dealers; its board is recorded as the first run's is), and
  tampered copies of both with their refusals.
* ``accounts``: account certificates, registration proofs and abscissas, with refusals.
* ``evaluation``: signed POST /v2/evaluate requests to each key server, their answers
  (VOPRF and quorum shares), the shares a reporter combines (a lying key server named),
  and refused requests.
* ``events``: every log event kind, its opening and leaf (a commitment); refusals.
* ``receipts``: signed checkpoints, inclusion proofs and tlog-proof receipts whose extra
  line opens the leaf, for entry and withdrawal events, plus tampered copies.
* ``invites``: cnsl2 invites and refusals (cnsl1 named as protocol v1).

Entries and envelopes v2 have their own vectors: tests/vectors/entry_v2_interop.json.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import importlib.util
import json
import random
import stringprep
import unicodedata
from datetime import UTC, datetime
from encodings.idna import nameprep
from pathlib import Path
from typing import Any

import phonenumbers

from consilience.clients import receipts as receipts_mod
from consilience.crypto import hpke, oprf, ristretto, shamir, signing
from consilience.crypto.bls12381 import G1Point, Scalar
from consilience.errors import ConsilienceError, InvalidInput
from consilience.operator import quorum_keys as quorum_keys_mod
from consilience.protocol import accounts, dkg, evaluation, events, identifiers, invites, matching, messages, quorum
from consilience.protocol import deployment as dep
from consilience.protocol.encoding import b64u_encode
from consilience.protocol.entry import Attachment, Body
from consilience.tlog import checkpoint as cp
from consilience.tlog import merkle, notes
from consilience.tlog.receipt import make_receipt, parse_receipt

ROOT = Path(__file__).resolve().parents[3]

# ---------------------------------------------------------------------------
# identifiers


def _literals(path: Path) -> list[str]:
    """Every string constant in a test module (inputs and outputs alike: all are fair inputs)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) < 400:
            out.append(node.value)
    return out


HANDWRITTEN = [
    # email and IDNA
    "ana@bücher.example", "ana@BÜCHER.example", "a@xn--bcher-kva.de", "a@XN--BCHER-KVA.de", "a@xn--bcher-kvb.de",
    "a@xn--.de", "a@xn--a.de", "a@xn--abc-.de", "a@xn--zz-zzzzz.de", "a@xn--80ak6aa92e.com", "a@пример.рф",
    "a@例え.jp", "a@例え。jp", "a@münchen.de", "a@MÜNCHEN.DE", "a@straße.de", "a@xn--strae-oqa.de", "a@ελληνικά.gr",
    "a@ςς.gr", "a@σς.gr", "a@עברית.il", "a@עברית1.il", "a@1עברית.il", "a@a\u05d0.il", "a@العربية.eg", "a@العربية١.eg",
    "a@ไทย.th", "a@हिन्दी.in", "a@한국.kr", "a@中国.cn", "a@中國.cn", "a@ü.com", "a@Ü.com", "a@u\u0308.com",
    "a@\u1e9e.de", "a@İstanbul.tr", "a@ıstanbul.tr", "a@ǅ.com", "a@ﬀ.com", "a@ｅｘａｍｐｌｅ.com", "a@example。com",
    "a@example．com", "a@example｡com", "a@exa\u00admple.com", "a@exa\u034fmple.com", "a@exa\ufe0fmple.com",
    "a@\u2c00.com", "a@\u10a0.com", "a@\u2d00.com", "a@💩.la", "a@xn--ls8h.la", "a@☃.net", "a@xn--n3h.net",
    "a@\u0627\u0644\u0639\u0631\u0628\u064a\u0629.com", "a@-a.com", "a@a-.com", "a@a..com", "a@.com", "a@com",
    "a@com.", "a@1.2.3.4", "a@a.123", "a@a.b1", "a@" + "a" * 63 + ".com", "a@" + "a" * 64 + ".com",
    "a@" + ".".join(["abcdefghi"] * 26) + ".com", "a@ü" + "a" * 60 + ".com", "a@ü" + "a" * 55 + ".com",
    "a@xn--" + "a" * 59 + ".com", "a@\u0301a.com", "a@a\u0301.com", "a@\u3002.com", "a@ü\u3002.com",
    "a@\u2f00.com", "a@\u2ff0.com", "a@\ufff9.com", "a@\U000e0041.com", "a@\ud7ff.com", "a@\uf951.com",
    "Dana+Tag@Example.COM", "a.b+c@gmail.com", "+x@gmail.com", "...@gmail.com", "a..b@x.com", ".a@x.com",
    "a.@x.com", '"a"@x.com', "a b@x.com", "a@b@c.com", "@x.com", "a@", "é@x.com", "a\u00a0@x.com", "a@x .com",
    "x" * 64 + "@example.com", "x" * 65 + "@example.com", "a@" + "b" * 250 + ".com",
    # phone
    "+44 20 7946 0958", "+442079460958", "020 7946 0958", "+1 202 555 0143", "555 123 4567", "+1 555 123 4567",
    "+44 (0) 20 7946 0958", "12", "+999 1234", "0044 20 7946 0958", "٠٢٠ ٧٩٤٦ ٠٩٥٨", "+٤٤ ٢٠ ٧٩٤٦ ٠٩٥٨",
    "۰۲۰ ۷۹۴۶ ۰۹۵۸", "०२० ७९४६ ०९५८", "+४४ २० ७९४६ ०९५८", "+1 202 555 0143 x12", "+1 202-555-0143 ext. 7",
    "+49 30 123456", "030 123456", "030/12345678", "+49 (0)30 12345678", "+33 1 23 45 67 89", "01 23 45 67 89",
    "+61 4 1234 5678", "0412 345 678", "+91 98765 43210", "+86 138 0013 8000", "+7 912 345-67-89",
    "8 912 345-67-89", "+55 11 91234-5678", "+54 9 11 1234-5678", "011 15-1234-5678", "+52 1 55 1234 5678",
    "+81 90-1234-5678", "090-1234-5678", "+1 (202) 555-0143", "+1.202.555.0143", "+12025550143",
    "+", "+ ", "+-", "+(", "++44 20 7946 0958", "44 20 7946 0958", "+44 20 7946 095", "+44 20 7946 09588",
    "+1 800 555 0199", "+1 900 555 0199", "+800 1234 5678", "+882 1234 5678", "+979 1234 5678 9",
    "+44 7700 900123", "+44 7700 900 123 4", "+1 202 555 01 43", "(202) 555-0143", "202.555.0143",
    "+1 2025550143", "+1 " + "2" * 20, "+" + "1" * 18, "+1 2" , "1", "0", "00", "+0", "+00 44",
    # profiles
    "https://x.com/DanaSmith_", "x.com/danasmith_", "https://twitter.com/#!/DanaSmith_", "https://x.com",
    "https://x.com/home", "https://x.com/danasmith_/status/123", "https://x.com/a/b/c", "x:@a", "x:@",
    "x:" + "a" * 16, "https://x.com//danasmith", "https://x.com/%64ana", "https://x.com/d%C3%A1na",
    "https://x.com/d%E1na", "https://x.com/%zz", "https://x.com/%", "https://x.com/%e2%82", "https://x.com/ｄａｎａ",
    "https://x.com/dana?x=1#y", "ftp://x.com/dana", "javascript://x.com/dana", "https://user@x.com/dana",
    "https://x.com:443/dana", "https://[v1.x]/@a", "mastodon:https://[v1.x]/@a", "mastodon:https://[abc]/@a",
    "mastodon:https://[abc/@a", "mastodon:https://a]/@a", "mastodon:https://bücher.social/@ana",
    "mastodon:https://BÜCHER.social/@Ana", "mastodon:https://m.example.social/@ana", "mastodon:@ana@m.social",
    "https://youtu.be/abc", "https://t.co/abc", "lnkd.in/abc", "https://example.com/@ana", "https://example.com/ana",
    "example.com/@ana", "@ana@mastodon.social", "@ana@mastodon.social/", "@Ana@Mastodon.Social",
    "mastodon:ana@mastodon.social", "mastodon:@ana", "mastodon:https://mastodon.social/@ana",
    "mastodon:https://mastodon.social/@ana/with_replies", "mastodon:https://mastodon.social/@ana/123",
    "mastodon:https://mastodon.social/users/ana", "mastodon:https://mastodon.social/@ana@other.social",
    "mastodon:https://mastodon.social/", "instagram:@Dana.Smith", "https://www.instagram.com/dana.smith/",
    "https://www.instagram.com/p/abc/", "https://www.instagram.com/explore/", "instagram.com/Dana.Smith?igshid=1",
    "https://instagr.am/dana.smith", "facebook.com/Dana.Smith", "https://www.facebook.com/profile.php?id=00123",
    "https://www.facebook.com/profile.php?id=1&id=2", "https://www.facebook.com/profile.php?id=",
    "https://www.facebook.com/profile.php?id=%31%32", "https://www.facebook.com/profile.php?id=1+2",
    "https://www.facebook.com/profile.php?x=1&id=42&", "https://www.facebook.com/profile.php?id",
    "https://www.facebook.com/profile.php", "https://www.facebook.com/people/Dana/100012345/",
    "https://www.facebook.com/people/Dana/", "facebook:1.2.3.4.5", "facebook:12345678901234567890",
    "facebook:123456789012345678901", "facebook:id:0042", "facebook:id:x", "facebook:a.b.c", "facebook:abcd",
    "https://web.facebook.com/danasmith/about", "https://mbasic.facebook.com/danasmith", "fb.com/danasmith",
    "linkedin:in/José-García", "linkedin:/in/dana-smith/", "https://www.linkedin.com/in/dana-smith-1a2b3c/",
    "https://uk.linkedin.com/in/dana-smith", "https://www.linkedin.com/in/jos%C3%A9-garc%C3%ADa",
    "https://www.linkedin.com/in/JOSÉ", "https://www.linkedin.com/in/ab", "https://www.linkedin.com/pub/x/1/2/3",
    "https://www.linkedin.com/company/acme", "https://www.linkedin.com/in/dana/details/experience",
    "https://www.linkedin.com/in/dana/other", "linkedin:dana_smith", "linkedin:İstanbul-dana", "linkedin:ΣΑΣ-dana",
    "linkedin:dana-ΣΑΣ", "linkedin:straße-dana", "linkedin:ǅemal-x", "linkedin:ﬀ-dana", "linkedin:dana-①②",
    "linkedin:dana-²³", "linkedin:dana-ⅻ", "linkedin:dana-〇一", "linkedin:dana-\u0301x", "linkedin:à-la-carte",
    "linkedin:a\u0300-la-carte", "linkedin:中文名字", "linkedin:ДанаСмит", "linkedin:דנה-סמית",
    "tiktok:@dana", "https://www.tiktok.com/@dana", "https://www.tiktok.com/@dana/video/1", "https://vm.tiktok.com/x",
    "github:Dana", "https://github.com/dana", "https://github.com/dana/repo", "https://github.com/orgs/acme",
    "github.com", "github:-dana", "youtube:@Dana", "https://www.youtube.com/@Dana/videos",
    "https://www.youtube.com/channel/UC1234567890123456789012", "https://www.youtube.com/channel/UCx",
    "https://www.youtube.com/c/dana", "https://www.youtube.com/watch?v=1", "youtube:UC1234567890123456789012",
    "youtube:@UC1234567890123456789012", "reddit:u/Dana_", "https://old.reddit.com/user/dana_/comments",
    "https://www.reddit.com/r/python", "reddit:/u/dana_/", "snapchat:@Dana", "https://www.snapchat.com/add/dana",
    "https://www.snapchat.com/@dana", "telegram:@DanaSmith", "https://t.me/danasmith", "https://t.me/+abc",
    "https://t.me/danasmith/12", "https://t.me/joinchat/abc", "bluesky:dana.bsky.social", "dana.bsky.social",
    "@Dana.bsky.social", "https://bsky.app/profile/dana.bsky.social", "https://bsky.app/profile/dana.bsky.social/post/1",
    "bluesky:did:plc:abcdefghijklmnopqrstuvwx", "bluesky:did:plc:ABC", "bluesky:did:web:example.com",
    "bluesky:did:web:bücher.example", "bluesky:dana", "bluesky:dana.local", "bsky:dana.example.com",
    "bluesky:dana.bücher.example", "twitter:dana", "tel:+44 20 7946 0958", "mailto:a@b.co", "unknown:abc",
    "Instagram : @foo", "INSTAGRAM:foo", "instagram:", "instagram: ", "@foo", "foo", "hello world", "",
    "   ", "\u200b", "a\u200bb@x.com", "\u202ea@x.com", "\ufeffa@x.com", "a@x.com\ufeff", "\u00a0a@x.com\u3000",
    "\u2028a@x.com", "a\u2028b@x.com", "\ud800", "a\udc00@x.com", "\U0001f600@x.com", "x:\U0001f600",
    "\x00", "a\x7fb", "a" * 257, "b" * 256, "ü" * 257, "\U0001f600" * 200, "ﷺ" * 30, "ﷺ" * 20 + "@x.com",
    "x:" + "\u3000" * 10 + "dana", "ｘ：＠ｄａｎａ", "Ｘ:dana", "\u212aelvin@x.com", "instagram:\u212aelvin",
]

KIND_CASES = [
    ("@DanaSmith_", "x"), ("DanaSmith_", "twitter"), ("dana", "Instagram"), ("dana", " GITHUB "), ("dana", "bogus"),
    ("dana", "lin\u212aedin"), ("x:dana", "instagram"), ("x:dana", "x"), ("https://x.com/dana", "instagram"),
    ("a@b.co", "phone"), ("+44 20 7946 0958", "email"), ("github.com", "bluesky"), ("github.com/dana", "bluesky"),
    ("github.com/dana", "github"), ("example.social/@ana", "mastodon"), ("ana@example.social", "mastodon"),
    ("mastodon.social/@ana", "mastodon"), ("https://mastodon.social/@ana", "mastodon"), ("dana", ""),
    ("dana", "'quoted'"), ("dana", 'both\'"'), ("dana", "tab\there"), ("dana", "é"), ("dana", "\U0001f600"),
]

REGION_CASES = [
    ("020 7946 0958", "GB"), ("020 7946 0958", "gb"), ("020 7946 0958", " Gb "), ("020 7946 0958", "US"),
    ("020 7946 0958", "XX"), ("020 7946 0958", ""), ("020 7946 0958", "G B"), ("020 7946 0958", "'"),
    ("020 7946 0958", "UK"), ("+1 202 555 0143", "GB"), ("555 123 4567", "US"), ("202 555 0143", "US"),
    ("030 123456", "DE"), ("01 23 45 67 89", "FR"), ("0412 345 678", "AU"), ("011 15-1234-5678", "AR"),
    ("15-1234-5678", "AR"), ("090-1234-5678", "JP"), ("8 912 345-67-89", "RU"), ("0044 20 7946 0958", "GB"),
    ("00 1 202 555 0143", "DE"), ("011 1 202 555 0143", "US"), ("12", "GB"), ("a@b.co", "GB"), ("x:dana", "ZZ"),
    ("044 668 18 00", "CH"), ("06 12345678", "NL"), ("0 800 123 4567", "TR"), ("1234", "001"),
]


def _phone_examples() -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    fmt = phonenumbers.PhoneNumberFormat
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for t in sorted(phonenumbers.PhoneNumberType.values()):
            n = phonenumbers.example_number_for_type(region, t)
            if n is None:
                continue
            national = phonenumbers.format_number(n, fmt.NATIONAL)
            out.append((phonenumbers.format_number(n, fmt.INTERNATIONAL), None))
            out.append((national, region))
            out.append((national, None))
            digits = str(n.national_number)
            out.append(("+" + str(n.country_code) + digits[:-1], None))  # one short
            out.append(("+" + str(n.country_code) + digits + "1", None))  # one long
            out.append((digits, region))
    for cc in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        n = phonenumbers.example_number_for_non_geo_entity(cc)
        if n is not None:
            out.append((phonenumbers.format_number(n, fmt.INTERNATIONAL), None))
    return out


_MUTATION_POOL = ["A", "z", "0", "9", ".", "_", "-", "+", "@", "/", ":", "?", "#", "%", "%41", "%C3%A9", " ", "é",
                  "É", "ß", "İ", "ı", "Σ", "ς", "ǅ", "ﬀ", "Å", "A\u030a", "\u0301", "\u00a0", "\u3000", "\u200b",
                  "\u2028", "\ufeff", "ｘ", "１", "٣", "①", "²", "ⅻ", "一", "中", "ب", "א", "\U0001f600", "™", "…",
                  "\u212a", "ℌ", "www.", "m.", "https://", "http://", "xn--", "。", "．"]


def _mutations(seeds: list[str], count: int, rng: random.Random) -> list[str]:
    out = []
    for _ in range(count):
        s = list(rng.choice(seeds))
        for _ in range(rng.randint(1, 3)):
            op = rng.randrange(5)
            pos = rng.randint(0, len(s))
            if op == 0:
                s.insert(pos, rng.choice(_MUTATION_POOL))
            elif op == 1 and s:
                del s[min(pos, len(s) - 1)]
            elif op == 2 and s:
                i = min(pos, len(s) - 1)
                s[i] = s[i].upper() if rng.random() < 0.5 else s[i].lower()
            elif op == 3 and s:
                i = min(pos, len(s) - 1)
                s[i] = rng.choice(_MUTATION_POOL)
            else:
                s = list("".join(s).swapcase()) if rng.random() < 0.3 else s
        out.append("".join(s))
    return out


def _case(raw: str, kind: str | None = None, region: str | None = None) -> dict[str, Any]:
    case: dict[str, Any] = {"input": raw}
    if kind is not None:
        case["kind"] = kind
    if region is not None:
        case["region"] = region
    try:
        ident = identifiers.normalise(raw, kind, default_region=region)
    except InvalidInput as exc:
        case["error"] = str(exc)
        return case
    case.update(canonical=ident.canonical, display=ident.display(), typed=ident.typed,
                oprf_input=ident.oprf_input.hex())
    return case


def identifier_cases() -> list[dict[str, Any]]:
    rng = random.Random(20260104)
    seeds = list(dict.fromkeys(_literals(ROOT / "tests" / "protocol" / "test_identifiers.py") + HANDWRITTEN))
    valid = []
    cases = []
    for raw in seeds:
        case = _case(raw)
        cases.append(case)
        if "canonical" in case:
            valid.append(raw)
            cases.append(_case(case["canonical"]))  # canonical forms re-normalise to themselves
    cases += [_case(raw, kind=k) for raw, k in KIND_CASES]
    cases += [_case(raw, region=r) for raw, r in REGION_CASES]
    cases += [_case(raw, region=r) for raw, r in _phone_examples()]
    cases += [_case(raw) for raw in _mutations(valid, 3000, rng)]
    seen, out = set(), []
    for c in cases:
        key = json.dumps(c, sort_keys=True, ensure_ascii=True)
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


def platform_data() -> list[dict[str, Any]]:
    """Every field of the registry that is data rather than code, as JSON (sets sorted)."""
    def plain(value: Any) -> Any:
        if isinstance(value, frozenset):
            return sorted(value)
        return list(value) if isinstance(value, tuple) else value

    return [{f.name: plain(getattr(p, f.name)) for f in dataclasses.fields(p) if not callable(getattr(p, f.name))}
            for p in identifiers.PLATFORMS]


def many_cases() -> list[dict[str, Any]]:
    lists = [
        (["Dana.Smith@Example.com", "dana.smith@example.com", "x:@dana", "+44 20 7946 0958"], None),
        (["020 7946 0958", "+442079460958", "instagram:dana"], "GB"),
        (["x:dana", "not a thing", "x:dana2"], None),
        (["x:a", "x:b", ""], None),
        ([], None),
    ]
    out = []
    for raws, region in lists:
        case: dict[str, Any] = {"inputs": raws, "region": region}
        try:
            case["canonical"] = [i.canonical for i in identifiers.normalise_many(raws, default_region=region)]
        except InvalidInput as exc:
            case["error"] = str(exc)
        out.append(case)
    return out


# ---------------------------------------------------------------------------
# Unicode data, per code point


def _digest(lines: Any) -> str:
    h = hashlib.sha256()
    for line in lines:
        h.update(line.encode("utf-8", "surrogatepass") + b"\n")
    return h.hexdigest()


def _assigned_not_c() -> list[int]:
    return [cp for cp in range(0x110000) if not unicodedata.category(chr(cp)).startswith("C")]


def _tables() -> Any:
    spec = importlib.util.spec_from_file_location("make_unicode_tables",
                                                  ROOT / "web" / "scripts" / "make_unicode_tables.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TABLES = _tables()
CORRIGENDA = {0xF951, 0x2F868, 0x2F874, 0x2F91F, 0x2F95F, 0x2F9BF}


def _nameprep_gap(cp: int) -> bool:
    """Where identifiers.js refuses rather than emulate Python (mirrors its nameprep())."""
    def unsure(x: int) -> bool:
        return TABLES.idna_class(x) == TABLES.UNASSIGNED or x in CORRIGENDA

    c = chr(cp)
    if stringprep.in_table_b1(c):
        return False
    if unsure(cp):
        return True
    return any(unsure(ord(m)) for m in stringprep.map_table_b2(c))


def unicode_digests() -> dict[str, Any]:
    cps = _assigned_not_c()

    def nameprep_lines() -> Any:
        for point in range(0x110000):
            if _nameprep_gap(point):
                continue
            try:
                result = ".".join(f"{ord(x):x}" for x in nameprep(chr(point)))
            except UnicodeError:
                result = "!"
            yield f"{point:x}:{result}"

    return {
        "unidata_version": unicodedata.unidata_version,
        "lower": _digest(f"{cp:x}:" + ".".join(f"{ord(x):x}" for x in chr(cp).lower()) for cp in cps),
        "nfkc": _digest(f"{cp:x}:" + ".".join(f"{ord(x):x}" for x in unicodedata.normalize("NFKC", chr(cp)))
                        for cp in cps),
        "alnum": _digest(f"{cp:x}" for cp in cps if chr(cp).isalnum()),
        "decimal": _digest(f"{cp:x}:{unicodedata.decimal(chr(cp))}" for cp in cps if chr(cp).isdecimal()),
        "space": _digest(f"{cp:x}" for cp in range(0x110000) if chr(cp).isspace()),
        "printable": _digest(f"{cp:x}" for cp in range(0x110000) if chr(cp).isprintable()),
        "nameprep": _digest(nameprep_lines()),
        "punycode": [{"text": t, "ascii": t.encode("punycode").decode("ascii")}
                     for t in ["bücher", "münchen", "例え", "пример", "ü" * 10, "aü-b", "\U0001f4a9", "ab", "",
                               "a-b-ü", "üäöß", "\u0627\u0644\u0639\u0631\u0628\u064a\u0629"]],
        "regions": sorted(phonenumbers.SUPPORTED_REGIONS),
    }


# ---------------------------------------------------------------------------
# body


def body_cases() -> dict[str, Any]:
    base = dict(identifiers=["Dana.Smith@Example.com"], canonical=["email:dana.smith@example.com"],
                contact="signal: @me", written_at="2026-01-02T03:04:05+00:00")
    texts = ["plain", "", "récit — “quoted” \"double\" \\back\\slash", "line\nbreak\ttab\rreturn\b\f",
             "\x00\x01\x1f\x7f\x80\x9f", "\u2028\u2029 separators", "emoji \U0001f600\U0001f469\u200d\U0001f4bb",
             "\ufeffbom \ufffe\uffff", "中文 العربية עברית", "</script><!--", "a" * 1000]
    bodies = []
    for n, text in enumerate(texts):
        bodies.append(Body(record=text, **base))
        if n % 2:
            bodies.append(Body(record=text, **{**base, "contact": text}, details={"what": text or "-", "where": "x"}))
    bodies.append(Body(record="r", **base, details={"what": "w", "when": "1 May, évening", "where": "kitchen",
                                                       "witnesses": "Kim \U0001f600"},
                       attachments=[Attachment("photo.jpg", "image/jpeg", bytes(range(256)) * 3),
                                    Attachment("notes — ü.txt", "text/plain; charset=utf-8", "ü\n".encode()),
                                    Attachment("empty", "", b"")]))
    bodies.append(Body(record="", identifiers=["a", "b"], canonical=["x:a", "x:b"], contact="", written_at="",
                       attachments=[Attachment("a", "application/octet-stream", b"\x00")]))
    valid = [{"fields": {"record": b.record, "identifiers": b.identifiers, "canonical": b.canonical,
                         "contact": b.contact, "written_at": b.written_at, "details": b.details,
                         "attachments": [a.to_json() for a in b.attachments]},
              "bytes": b.to_bytes().hex()} for b in bodies]
    refused = []
    for raw in [b"", b"\xff", b"[]", b"{}", b'{"v":2}', b'{"v":1}',
                # a protocol v1 body, complete: refused by its version
                b'{"v":1,"record":"r","identifiers":[],"canonical":[],"contact":"","written_at":""}',
                b'{"v":2,"record":1,"identifiers":[],"canonical":[],"contact":"","written_at":""}',
                b'{"v":2,"record":"","identifiers":[1],"canonical":[],"contact":"","written_at":""}',
                b'{"v":2,"record":"","identifiers":[],"canonical":[],"contact":"","written_at":"","details":{}}',
                b'{"v":2,"record":"","identifiers":[],"canonical":[],"contact":"","written_at":"","details":{"who":"x"}}',
                b'{"v":2,"record":"","identifiers":[],"canonical":[],"contact":"","written_at":"","details":{"what":""}}',
                b'{"v":2,"record":"","identifiers":[],"canonical":[],"contact":"","written_at":"","attachments":[]}',
                b'{"v":2,"record":"","identifiers":[],"canonical":[],"contact":"","written_at":"",'
                b'"attachments":[{"name":"a","type":"t","data":"AB"}]}',
                b'{"v":2,"record":"","identifiers":[],"canonical":[],"contact":"","written_at":"",'
                b'"attachments":[{"name":"a","type":"t","data":"AA","x":1}]}']:
        try:
            Body.from_bytes(raw)
        except InvalidInput as exc:
            refused.append({"bytes": raw.hex(), "error": str(exc)})
        else:  # pragma: no cover - the list above is all refusals
            raise AssertionError(raw)
    old = Body(record="r", **base).to_bytes()
    return {"valid": valid, "refused": refused, "old_layout": old.hex()}


# ---------------------------------------------------------------------------
# protocol v2: one deployment with fixed keys (labels), its key servers' key generation (one recorded run),
# accounts, signed evaluation requests and answers, log events and receipts


def _seed(label: str) -> bytes:
    return hashlib.sha256(b"consilience interop protocol " + label.encode()).digest()


def _scalar(label: str) -> int:
    return int.from_bytes(hashlib.sha512(_seed(label)).digest(), "little") % ristretto.ORDER


def _base(x: int) -> bytes:
    return ristretto.scalar_mult_base(ristretto.scalar_from_int(x))


N_SERVERS, THRESHOLD, EPOCH = 3, 2, 1
ADMIN = _seed("admin key")
LOG_KEY = _seed("log key")
WITNESS_KEY = _seed("witness key")
#: the resharing: the key servers' second run, at this epoch, hands the secrets to key servers 1 and 2 (2 of 2)
RENEWAL_EPOCH, RENEWED_SERVERS, RENEWED_THRESHOLD = 2, 2, 2
#: the time every certificate, request and check below is made at (unix seconds)
NOW = 1_767_323_045


def _identity(i: int) -> bytes:
    return _seed(f"key server {i} identity")


def _hpke_seed(i: int) -> bytes:
    return _seed(f"key server {i} hpke")


def _dealer_seed(i: int) -> dkg.DealerSeed:
    return dkg.DealerSeed(_seed(f"key server {i} dealer seed"))


def _listed(count: int) -> tuple[dep.KeyServer, ...]:
    """Key servers 1..COUNT as a document lists them before a run: no VOPRF public shares (its result has them)."""
    return tuple(dep.KeyServer(i, f"https://ks{i}.example", b"", signing.public_key(_identity(i)),
                               hpke.public_key_bytes(_hpke_seed(i))) for i in range(1, count + 1))


def _base_deployment(serial: int = 2) -> dep.Deployment:
    """The deployment before its key servers' key generation, asking them to generate: quorum range 2..5,
    2-of-3 key servers, no VOPRF key nor public shares yet."""
    counselors = []
    for name in ["Robin", "Sam"]:
        public = hpke.public_key_bytes(_seed("counselor " + name))
        counselors.append(dep.Counselor(name, hpke.key_id(public), public))
    return dep.Deployment(
        deployment_id=_seed("deployment id")[:16], serial=serial, issued_at="2026-01-02T03:04:05+00:00",
        quorum=2, max_quorum=5, escrow_url="https://escrow.example", threshold=THRESHOLD,
        oprf_public_key=b"", key_servers=_listed(N_SERVERS),
        counselors=tuple(counselors), log_origin="escrow.example/log", log_public_key=signing.public_key(LOG_KEY),
        witnesses=(cp.cosignature_vkey("witness.example/w1", signing.public_key(WITNESS_KEY)),),
        key_change=dep.KeyChange(EPOCH, "generate", THRESHOLD, _listed(N_SERVERS)))


def _recorded_board(params: dkg.Parameters, *path: str) -> list[bytes] | None:
    """The board of the run already in interop.json at PATH, if it is a run with these parameters."""
    try:
        recorded = json.loads((ROOT / "tests" / "vectors" / "interop.json").read_text())["protocol"]
        for key in path:
            recorded = recorded[key]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(recorded, dict) or recorded.get("parameters_digest") != params.digest.hex():
        return None
    return [bytes.fromhex(m["hex"]) for m in recorded["board"]]


@dataclasses.dataclass(frozen=True)
class Run:
    """One run of the key servers' key generation: the board and what each key server keeps."""

    params: dkg.Parameters
    board: list[bytes]
    results: dict[int, dkg.KeyServerResult]
    #: what ``admin publish-keys`` publishes (operator/quorum_keys.py): quorum keys, VOPRF key, key servers
    published: quorum_keys_mod.Result

    @property
    def quorum_keys(self) -> dep.QuorumKeys:
        return self.published.keys


_RUN: list[Run] = []


def key_generation() -> Run:
    """The recorded run (deals are HPKE-sealed, so random; every other value follows from the fixed seeds).

    Without a recorded run (a fresh file, or changed parameters) the key servers run it anew. Either way
    every message is parsed, qualified, finalized and confirmed here as a key server does, and each deal's
    commitments must be those its fixed dealer seed gives, so a recorded run cannot be another one.
    """
    if _RUN:
        return _RUN[0]
    base = _base_deployment()
    params = base.dkg_parameters(EPOCH)
    board = _recorded_board(params, "dkg")
    if board is None:
        deals = [dkg.deal(params, i, _identity(i), _dealer_seed(i)) for i in range(1, N_SERVERS + 1)]
        first = {i: dkg.finalize(params, i, _hpke_seed(i), deals) for i in range(1, N_SERVERS + 1)}
        board = deals + [dkg.confirm(params, _identity(i), first[i]) for i in sorted(first)]
    fresh = dkg.deal(params, 1, _identity(1), _dealer_seed(1))
    for i, message in enumerate(board[:N_SERVERS], 1):
        mine, theirs = dkg.parse(params, dkg.deal(params, i, _identity(i), _dealer_seed(i))), dkg.parse(params, message)
        assert isinstance(mine, dkg.Deal) and isinstance(theirs, dkg.Deal)
        assert (theirs.dealer, theirs.commitments, theirs.contribution_hash) == (
            mine.dealer, mine.commitments, mine.contribution_hash), f"recorded deal {i} is not key server {i}'s"
    assert fresh != board[0]  # HPKE: a deal is never the same twice, hence the recording
    results = {i: dkg.confirmed(params, dkg.finalize(params, i, _hpke_seed(i), board), board)
               for i in range(1, N_SERVERS + 1)}
    run = Run(params, board, results, quorum_keys_mod.quorum_keys_from_board(base, EPOCH, board))
    _RUN.append(run)
    return run


def _deployment(serial: int = 3) -> tuple[dep.Deployment, bytes]:
    """The document publishing the recorded run's result, as ``admin publish-keys`` writes it."""
    base = _base_deployment()
    d = dataclasses.replace(base, serial=serial, **key_generation().published.apply(base))  # type: ignore[arg-type]
    dep.validate(d)
    return d, ADMIN


def _oprf_secret() -> bytes:
    """The VOPRF key the key servers generated, from THRESHOLD of their shares (test-only: to compute outputs)."""
    shares = {i: ristretto.scalar_to_int(r.oprf_share) for i, r in key_generation().results.items()}
    return ristretto.scalar_from_int(shamir.interpolate_at_zero(dict(sorted(shares.items())[:THRESHOLD])))


def _renewal_dealer_seed(i: int) -> dkg.DealerSeed:
    return dkg.DealerSeed(_seed(f"key server {i} dealer seed, resharing"))


_RENEWAL: list[tuple[dep.Deployment, dkg.Parameters, list[bytes], dep.Deployment]] = []


def renewal() -> tuple[dep.Deployment, dkg.Parameters, list[bytes], dep.Deployment]:
    """The second run (recorded as the first): key servers 1..3 reshare the secrets to key servers 1 and 2.

    Returns the document asking for it, its parameters (with the result it renews), the board and the
    document publishing its result. The recorded deals must be those the fixed resharing seeds give."""
    if _RENEWAL:
        return _RENEWAL[0]
    published, _ = _deployment()
    run = key_generation()
    asking = dataclasses.replace(published, serial=4, key_change=dep.KeyChange(
        RENEWAL_EPOCH, "reshare", RENEWED_THRESHOLD, _listed(RENEWED_SERVERS)))
    dep.validate(asking)
    params = asking.dkg_parameters(RENEWAL_EPOCH)
    dealers = [p.index for p in params.dealers]
    assert dealers == [1, 2, 3] and params.n == RENEWED_SERVERS
    board = _recorded_board(params, "deployment", "renewed")
    if board is None:
        deals = [dkg.deal(params, i, _identity(i), _renewal_dealer_seed(i), run.results[i].held()) for i in dealers]
        first = {j: dkg.finalize(params, j, _hpke_seed(j), deals) for j in range(1, RENEWED_SERVERS + 1)}
        board = deals + [dkg.confirm(params, _identity(j), first[j]) for j in sorted(first)]
    for i, message in zip(dealers, board[:len(dealers)], strict=True):
        mine = dkg.parse(params, dkg.deal(params, i, _identity(i), _renewal_dealer_seed(i), run.results[i].held()))
        theirs = dkg.parse(params, message)
        assert isinstance(mine, dkg.Deal) and isinstance(theirs, dkg.Deal)
        assert (theirs.dealer, theirs.commitments, theirs.oprf_commitments, theirs.contribution_hash) == (
            mine.dealer, mine.commitments, mine.oprf_commitments, mine.contribution_hash), \
            f"recorded resharing deal {i} is not key server {i}'s"
    for j in range(1, RENEWED_SERVERS + 1):
        dkg.confirmed(params, dkg.finalize(params, j, _hpke_seed(j), board), board)
    result = quorum_keys_mod.quorum_keys_from_board(asking, RENEWAL_EPOCH, board)
    renewed = dataclasses.replace(asking, serial=5, **result.apply(asking))  # type: ignore[arg-type]
    dep.validate(renewed)
    _RENEWAL.append((asking, params, board, renewed))
    return _RENEWAL[0]


def _kind(message: Any) -> str:
    return {dkg.Deal: "deal", dkg.Complaint: "complaint", dkg.Answer: "answer",
            dkg.Confirmation: "confirmation"}[type(message)]


def _author(message: Any) -> int:
    if isinstance(message, dkg.Confirmation):
        return message.author
    return message.complainant if isinstance(message, dkg.Complaint) else message.dealer


def _refusal(fn: Any) -> dict[str, str]:
    try:
        fn()
    except ConsilienceError as exc:
        return {"error": str(exc), "type": type(exc).__name__}
    raise AssertionError("expected a refusal")


def dkg_cases() -> dict[str, Any]:
    """The recorded run's board (what GET /v2/board/1 serves) and single messages with their refusals."""
    run = key_generation()
    params = run.params
    qual = dkg.qualify(params, run.board)
    deal_1 = dkg.parse(params, run.board[0])
    assert isinstance(deal_1, dkg.Deal)
    complaint = dkg.complain(params, 2, _identity(2), 1, deal_1.digest, dkg.CANNOT_OPEN)
    answers = dkg.answer(params, 1, _identity(1), _dealer_seed(1), [run.board[0], complaint])
    assert len(answers) == 1
    late = dkg.complain(params, 3, _identity(3), 2, bytes(32), dkg.NOTHING_BY_DEADLINE)
    other_epoch = dataclasses.replace(params, epoch=EPOCH + 1)
    signed = [("complaint", complaint), ("answer", answers[0]), ("complaint, nothing by the deadline", late)]
    extra = []
    for what, m in signed:
        parsed = dkg.parse(params, m)
        case: dict[str, Any] = {"what": what, "hex": m.hex(), "kind": _kind(parsed),
                                "author": _author(parsed)}
        if isinstance(parsed, dkg.Complaint):
            case.update(dealer=parsed.dealer, deal_digest=parsed.deal_digest.hex(), reason=parsed.reason)
        if isinstance(parsed, dkg.Answer):
            case.update(complainant=parsed.complainant, deal_digest=parsed.deal_digest.hex(),
                        plaintext=parsed.plaintext.hex())
        extra.append(case)
    confirmation = bytearray(run.board[-1])
    confirmation[-100] ^= 1  # in the commitments digest (before the abscissa check), under the signature
    tampered = bytearray(complaint)
    tampered[-1] ^= 1
    body_changed = bytearray(complaint)
    body_changed[-65] ^= 1  # the reason byte, under the signature
    refused = [
        ("signature changed", bytes(tampered), params),
        ("signed content changed", bytes(body_changed), params),
        ("another epoch's parameters", complaint, other_epoch),
        ("truncated", complaint[:40], params),
        ("empty", b"", params),
        ("unknown label", b"\x00\x05hello" + bytes(64), params),
        ("a deal cut short", run.board[1][:-200] + run.board[1][-64:], params),
        ("a confirmation changed under its signature", bytes(confirmation), params),
    ]
    board = []
    for m in run.board:
        parsed = dkg.parse(params, m)
        entry: dict[str, Any] = {"kind": _kind(parsed), "author": _author(parsed), "hex": m.hex()}
        if isinstance(parsed, dkg.Deal):
            entry["digest"] = parsed.digest.hex()
        board.append(entry)
    return {
        "parameters": {"deployment_id": params.deployment_id.hex(), "epoch": params.epoch,
                       "threshold": params.threshold, "low": params.low, "high": params.high,
                       "participants": [{"index": p.index, "identity_key": p.identity_key.hex(),
                                         "hpke_public_key_sha256": hashlib.sha256(p.hpke_public_key).hexdigest()}
                                        for p in params.participants]},
        "parameters_digest": params.digest.hex(),
        "board": board,
        "board_post": messages.BoardPost(epoch=EPOCH, message=b64u_encode(run.board[0])).model_dump(),
        "qualified": list(qual.qualified),
        "transcript": qual.transcript.hex(),
        "commitments_digest": qual.commitments_digest(run.results[1].abscissa_check).hex(),
        "abscissa_check": run.results[1].abscissa_check.hex(),
        "master": {str(q): [c.to_bytes().hex() for c in cs] for q, cs in qual.master.items()},
        "messages": extra,
        "refused": [{"what": what, "hex": data.hex(), "epoch": p.epoch,
                     **_refusal(lambda data=data, p=p: dkg.parse(p, data))} for what, data, p in refused],
    }


def deployment_cases() -> dict[str, Any]:
    d, admin = _deployment()
    published = dep.sign(d, admin)
    fingerprint = dep.admin_fingerprint(signing.public_key(admin))
    other_admin = _seed("other admin")

    def tampered(label: str, pub: Any, min_serial: int = 0, fp: bytes = fingerprint) -> dict[str, Any]:
        try:
            dep.verify(pub, fp, min_serial=min_serial)
        except ConsilienceError as exc:
            return {"label": label, "published": pub, "min_serial": min_serial, "fingerprint": fp.hex(),
                    "error": str(exc), "type": type(exc).__name__}
        raise AssertionError(label)

    doc = json.loads(d.canonical_bytes())

    def resigned(text: bytes) -> dict[str, str]:  # a correctly signed document with other content
        return {"document": b64u_encode(text), "signature": b64u_encode(signing.sign(admin, dep.SIGNING_PREFIX + text)),
                "admin_key": published["admin_key"]}

    def changed(edit: Any) -> dict[str, str]:
        copy = json.loads(json.dumps(doc))
        edit(copy)
        return resigned(dep.canonical_json(copy))

    keys = doc["quorum_keys"]
    first_confirmation = keys["confirmations"][0]

    def set_at(path: list[Any], value: Any) -> Any:
        def edit(copy: Any) -> None:
            node = copy
            for p in path[:-1]:
                node = node[p]
            node[path[-1]] = value
        return edit

    refusals = [
        tampered("stale serial", published, min_serial=4),
        tampered("other admin pinned", published, fp=dep.admin_fingerprint(signing.public_key(other_admin))),
        tampered("signature by another key", {**published, "signature": b64u_encode(
            signing.sign(other_admin, dep.SIGNING_PREFIX + dep.b64u_decode(published["document"])))}),
        tampered("signed with the v1 prefix", {**published, "signature": b64u_encode(
            signing.sign(admin, b"consilience-v1 deployment\n" + dep.b64u_decode(published["document"])))}),
        tampered("document changed", {**published, "document": b64u_encode(
            dep.b64u_decode(published["document"]).replace(b'"quorum":2', b'"quorum":3'))}),
        tampered("not canonical", resigned(json.dumps(doc, sort_keys=True).encode())),
        tampered("inconsistent public share", changed(set_at(["oprf", "servers", 2, "public_share"],
                                                             b64u_encode(_base(12345))))),
        tampered("counselor key id", changed(set_at(["counselors", 0, "key_id"], b64u_encode(bytes(16))))),
        tampered("not JSON", resigned(b"not json")),
        tampered("no signature", {k: v for k, v in published.items() if k != "signature"}),
        tampered("a v1 document", changed(set_at(["format"], dep.V1_FORMAT))),
        tampered("a v1 field (token_issuer_key)", changed(set_at(["token_issuer_key"], b64u_encode(bytes(32))))),
        tampered("two key servers with one identity key", changed(set_at(
            ["oprf", "servers", 1, "identity_key"], doc["oprf"]["servers"][0]["identity_key"]))),
        tampered("a qualified key server's confirmation left out", changed(set_at(
            ["quorum_keys", "confirmations"], keys["confirmations"][1:]))),
        tampered("a forged confirmation", changed(set_at(
            ["quorum_keys", "confirmations", 0],
            first_confirmation[:-4] + ("AAAA" if first_confirmation[-4:] != "AAAA" else "BBBB")))),
        tampered("another transcript than the key servers confirmed", changed(set_at(
            ["quorum_keys", "transcript"], b64u_encode(bytes(32))))),
        tampered("a key server's commitments swapped", changed(set_at(
            ["quorum_keys", "servers", "2", "3"], list(reversed(keys["servers"]["2"]["3"]))))),
        tampered("a master commitment replaced by another level's", changed(set_at(
            ["quorum_keys", "levels", "3", 0], keys["levels"]["2"][0]))),
        tampered("a level of the range left out", changed(lambda c: c["quorum_keys"]["levels"].pop("5"))),
        tampered("a qualified key server left out", changed(set_at(["quorum_keys", "qualified"], [1, 2]))),
        tampered("the quorum keys of another epoch", changed(set_at(["quorum_keys", "epoch"], EPOCH + 1))),
        tampered("the escrow server over plain HTTP", changed(set_at(["escrow_url"], "http://escrow.example"))),
        tampered("a key server over plain HTTP", changed(set_at(["oprf", "servers", 0, "url"], "http://ks1.example:8101"))),
        tampered("a key server's address with a query", changed(set_at(["oprf", "servers", 1, "url"],
                                                                      "https://ks2.example/?x=1"))),
        tampered("a key server's address with a bad port", changed(set_at(["oprf", "servers", 2, "url"],
                                                                        "https://ks3.example:http"))),
        tampered("a holder's VOPRF public share left out", changed(set_at(["oprf", "servers", 2, "public_share"],
                                                                          None))),
        tampered("the VOPRF public key left out", changed(set_at(["oprf", "public_key"], None))),
        tampered("the abscissa check changed", changed(set_at(["quorum_keys", "abscissa_check"],
                                                               b64u_encode(bytes(32))))),
        tampered("generated keys of another generation", changed(set_at(["quorum_keys", "generation"], EPOCH + 1))),
        tampered("dealers other than the holders", changed(set_at(["quorum_keys", "dealers"], [1, 2]))),
        tampered("generated keys naming a result they renew", changed(set_at(["quorum_keys", "renewed_from"],
                                                                            b64u_encode(bytes(32))))),
        tampered("an unknown kind of key generation", changed(set_at(["quorum_keys", "kind"], "rotate"))),
        tampered("no kind of key generation", changed(lambda c: c["quorum_keys"].pop("kind"))),
        tampered("no key_change field", changed(lambda c: c.pop("key_change"))),
        tampered("a key change to generate again", changed(set_at(["key_change"], {
            "epoch": EPOCH + 1, "kind": "generate", "threshold": THRESHOLD,
            "servers": [{**s, "public_share": None} for s in doc["oprf"]["servers"]]}))),
        tampered("a key change listing the key servers with their public shares", changed(set_at(["key_change"], {
            "epoch": EPOCH + 1, "kind": "refresh", "threshold": THRESHOLD, "servers": doc["oprf"]["servers"]}))),
    ]
    pending = _base_deployment()
    pending_published = dep.sign(pending, admin)
    assert dep.verify(pending_published, fingerprint).quorum_keys is None
    pending_doc = json.loads(pending.canonical_bytes())

    def pending_changed(edit: Any) -> dict[str, str]:
        copy = json.loads(json.dumps(pending_doc))
        edit(copy)
        return resigned(dep.canonical_json(copy))

    refusals += [
        tampered("before the key generation, a VOPRF public key", pending_changed(set_at(
            ["oprf", "public_key"], doc["oprf"]["public_key"]))),
        tampered("before the key generation, a public share", pending_changed(set_at(
            ["oprf", "servers", 0, "public_share"], doc["oprf"]["servers"][0]["public_share"]))),
        tampered("before the key generation, no key change", pending_changed(set_at(["key_change"], None))),
        tampered("before the key generation, a refresh asked for", pending_changed(set_at(
            ["key_change", "kind"], "refresh"))),
        tampered("the first key generation by other key servers", pending_changed(set_at(
            ["key_change", "servers", 1, "url"], "https://elsewhere.example"))),
        tampered("the first key generation with another threshold", pending_changed(set_at(
            ["key_change", "threshold"], 3))),
        tampered("a key change listing a public share", pending_changed(set_at(
            ["key_change", "servers", 0, "public_share"], doc["oprf"]["servers"][0]["public_share"]))),
        tampered("a key change with threshold 0", pending_changed(set_at(["key_change", "threshold"], 0))),
        tampered("a key server of the key change over plain HTTP", pending_changed(set_at(
            ["key_change", "servers", 2, "url"], "http://10.0.0.3"))),
        tampered("a key change of an unknown kind", pending_changed(set_at(["key_change", "kind"], "rotate"))),
    ]
    qk = d.quorum_keys
    assert qk is not None
    return {
        "published": published, "fingerprint": fingerprint.hex(), "fingerprint_b64u": b64u_encode(fingerprint),
        "pending": {"published": pending_published, "serial": pending.serial, "ready": False,
                    "key_change": {"epoch": EPOCH, "kind": "generate"},
                    "error": _refusal(pending.quorum_parameters)["error"]},
        "renewed": renewal_cases(admin, fingerprint),
        "expected": {
            "format": dep.FORMAT, "signing_prefix": dep.SIGNING_PREFIX.decode(),
            "serial": d.serial, "quorum": d.quorum, "max_quorum": d.max_quorum, "threshold": d.threshold,
            "escrow_url": d.escrow_url, "issued_at": d.issued_at, "deployment_id": d.deployment_id.hex(),
            "oprf_public_key": d.oprf_public_key.hex(), "key_epoch": d.key_epoch,
            "key_servers": [{"index": s.index, "url": s.url, "public_share": s.public_share.hex(),
                             "identity_key": s.identity_key.hex(),
                             "hpke_public_key_sha256": hashlib.sha256(s.hpke_public_key).hexdigest()}
                            for s in d.key_servers],
            "counselors": [{"name": c.name, "key_id": c.key_id.hex(), "public_key_sha256":
                            hashlib.sha256(c.public_key).hexdigest()} for c in d.counselors],
            "log": {"origin": d.log_origin, "public_key": d.log_public_key.hex(), "vkey": d.log_vkey,
                    "witnesses": list(d.witnesses)},
            "quorum_keys": {"epoch": qk.epoch, "transcript": qk.transcript.hex(), "qualified": list(qk.qualified),
                            "generation": qk.generation, "kind": qk.kind, "dealers": list(qk.dealers),
                            "abscissa_check": qk.abscissa_check.hex(),
                            "levels": {str(q): [c.hex() for c in cs] for q, cs in sorted(qk.levels.items())},
                            "confirmations": len(qk.confirmations)},
        },
        "refusals": refusals,
    }


def renewal_cases(admin: bytes, fingerprint: bytes) -> dict[str, Any]:
    """The resharing: the document asking for it, its recorded board, the document publishing its result
    (entries still bind generation 1), and refusals of tampered copies of both."""
    asking, params, board, renewed = renewal()
    keys = renewed.quorum_keys
    assert keys is not None and keys.kind == "reshare" and keys.generation == EPOCH
    published_params = renewed.dkg_parameters(RENEWAL_EPOCH)
    assert published_params.digest == params.digest
    shares = {i: renewed.key_server(i).public_share for i in keys.qualified}
    digest = dkg.commitments_digest(keys.levels, keys.servers, renewed.oprf_public_key, shares, keys.abscissa_check)

    def resigned(doc: Any) -> dict[str, str]:
        text = dep.canonical_json(doc)
        return {"document": b64u_encode(text), "signature": b64u_encode(signing.sign(admin, dep.SIGNING_PREFIX + text)),
                "admin_key": b64u_encode(signing.public_key(admin))}

    def changed(d: dep.Deployment, path: list[Any], value: Any) -> dict[str, str]:
        copy = json.loads(d.canonical_bytes())
        node = copy
        for p in path[:-1]:
            node = node[p]
        node[path[-1]] = value
        return resigned(copy)

    def refused(label: str, pub: dict[str, str]) -> dict[str, Any]:
        return {"label": label, "published": pub, "fingerprint": fingerprint.hex(),
                **_refusal(lambda: dep.verify(pub, fingerprint))}

    listing = json.loads(asking.canonical_bytes())["key_change"]["servers"]
    every = json.loads(_deployment()[0].canonical_bytes())["oprf"]["servers"]
    return {
        "asking": {"published": dep.sign(asking, admin), "serial": asking.serial,
                   "key_change": {"epoch": RENEWAL_EPOCH, "kind": "reshare", "threshold": RENEWED_THRESHOLD,
                                  "servers": [s["index"] for s in listing]},
                   "parameters_digest": params.digest.hex(), "previous_digest": params.previous_digest.hex()},
        "parameters_digest": params.digest.hex(),
        "board": [{"kind": _kind(m), "author": _author(m), "hex": data.hex()}
                  for data, m in ((data, dkg.parse(params, data)) for data in board)],
        "published": dep.sign(renewed, admin),
        "expected": {
            "serial": renewed.serial, "key_epoch": renewed.key_epoch, "threshold": renewed.threshold,
            "oprf_public_key": renewed.oprf_public_key.hex(),
            "key_servers": [{"index": s.index, "public_share": s.public_share.hex()} for s in renewed.key_servers],
            "quorum_keys": {"epoch": keys.epoch, "generation": keys.generation, "kind": keys.kind,
                            "renewed_from": keys.renewed_from.hex(), "qualified": list(keys.qualified),
                            "dealers": list(keys.dealers), "abscissa_check": keys.abscissa_check.hex(),
                            "transcript": keys.transcript.hex()},
            "commitments_digest": digest.hex(),
            "confirmations": [{"author": c.author, "qualified": list(c.qualified), "commitments": c.commitments.hex(),
                               "abscissa_check": c.abscissa_check.hex()}
                              for c in (dkg.parse(published_params, m) for m in keys.confirmations)
                              if isinstance(c, dkg.Confirmation)],
        },
        "refusals": [
            refused("renewed keys said to be of their own epoch's generation",
                    changed(renewed, ["quorum_keys", "generation"], RENEWAL_EPOCH)),
            refused("renewed keys of generation 0", changed(renewed, ["quorum_keys", "generation"], 0)),
            refused("renewed keys naming another result they renew",
                    changed(renewed, ["quorum_keys", "renewed_from"], b64u_encode(bytes(range(32))))),
            refused("renewed keys naming no result they renew",
                    changed(renewed, ["quorum_keys", "renewed_from"], None)),
            refused("renewed keys with their holders as dealers", changed(renewed, ["quorum_keys", "dealers"], [1, 2])),
            refused("a resharing said to be a refresh", changed(renewed, ["quorum_keys", "kind"], "refresh")),
            refused("a resharing said to be a generation", resigned({**json.loads(renewed.canonical_bytes()),
                    "quorum_keys": {**json.loads(renewed.canonical_bytes())["quorum_keys"], "kind": "generate",
                                    "renewed_from": None}})),
            refused("a refresh asked for with another threshold", changed(asking, ["key_change"], {
                "epoch": RENEWAL_EPOCH, "kind": "refresh", "threshold": 3, "servers": listing + [
                    {**every[2], "public_share": None}]})),
            refused("a refresh asked for with fewer key servers", changed(asking, ["key_change", "kind"], "refresh")),
            refused("a resharing asked for at the published epoch", changed(asking, ["key_change", "epoch"], EPOCH)),
            refused("a resharing to one key server listed twice", changed(asking, ["key_change", "servers"],
                                                                              [listing[0], listing[0]])),
        ],
    }


# -- accounts and signed evaluation requests ---------------------------------------------------


def _account(label: str) -> bytes:
    return _seed("account " + label)


def _certificate(label: str, issued_at: int = NOW) -> bytes:
    d, admin = _deployment()
    return accounts.issue_certificate(admin, d.deployment_id, accounts.account_key(_account(label)), now=issued_at)


def account_cases() -> dict[str, Any]:
    """Certificates, registration proofs and abscissas (PROTOCOL.md §6), and their refusals."""
    d, admin = _deployment()
    admin_public = signing.public_key(admin)
    fingerprint = dep.admin_fingerprint(admin_public)
    run = key_generation()
    abscissa_key = run.results[1].abscissa_key
    assert all(r.abscissa_key == abscissa_key for r in run.results.values())
    valid = []
    for label, issued_at in (("a", NOW), ("b", 0), ("c", 2**40 + 5)):
        seed = _account(label)
        key = accounts.account_key(seed)
        cert = _certificate(label, issued_at)
        assert accounts.verify_certificate(admin_public, d.deployment_id, cert).account_key == key
        proof = accounts.registration_proof(seed, d.deployment_id)
        accounts.verify_registration(key, d.deployment_id, proof)
        valid.append({"seed": seed.hex(), "account_key": key.hex(), "issued_at": issued_at, "certificate": cert.hex(),
                      "registration_proof": proof.hex(), "invite": str(invites.Invite(seed, fingerprint)),
                      "register_request": messages.RegisterRequestV2(
                          account_key=b64u_encode(key), proof=b64u_encode(proof)).model_dump(exclude_none=True),
                      "abscissa": accounts.abscissa(abscissa_key, d.deployment_id, key).to_bytes().hex()})
    good = _certificate("a")
    key_a = accounts.account_key(_account("a"))
    flipped = bytearray(good)
    flipped[-1] ^= 1
    later = bytearray(good)
    later[55] ^= 1  # issued_at, under the signature
    other = accounts.issue_certificate(_seed("other admin"), d.deployment_id, key_a, now=NOW)
    elsewhere = accounts.issue_certificate(admin, bytes(16), key_a, now=NOW)
    certificate_refusals = [(what, c, did) for what, c, did in [
        ("signed by someone else", other, d.deployment_id), ("for another deployment", elsewhere, d.deployment_id),
        ("checked for another deployment", good, bytes(16)), ("signature changed", bytes(flipped), d.deployment_id),
        ("issue time changed", bytes(later), d.deployment_id), ("truncated", good[:-1], d.deployment_id),
        ("one byte too long", good + b"\x00", d.deployment_id), ("empty", b"", d.deployment_id)]]
    proof_a = accounts.registration_proof(_account("a"), d.deployment_id)
    registration_refusals = [
        ("signed by another account", key_a, accounts.registration_proof(_account("b"), d.deployment_id),
         d.deployment_id),
        ("for another deployment", key_a, accounts.registration_proof(_account("a"), bytes(16)), d.deployment_id),
        ("checked for another deployment", key_a, proof_a, bytes(16)),
    ]
    return {
        "labels": {"certificate": accounts.CERTIFICATE_LABEL.decode(), "register": accounts.REGISTER_LABEL.decode(),
                   "abscissa": accounts.ABSCISSA_LABEL.decode()},
        "certificate_bytes": accounts.CERTIFICATE_BYTES,
        "admin_key": admin_public.hex(), "deployment_id": d.deployment_id.hex(), "abscissa_key": abscissa_key.hex(),
        "valid": valid,
        "certificate_refusals": [{"what": what, "certificate": c.hex(), "deployment_id": did.hex(),
                                  **_refusal(lambda c=c, did=did: accounts.verify_certificate(admin_public, did, c))}
                                 for what, c, did in certificate_refusals],
        "registration_refusals": [{"what": what, "account_key": k.hex(), "proof": p.hex(), "deployment_id": did.hex(),
                                   **_refusal(lambda k=k, p=p, did=did: accounts.verify_registration(k, did, p))}
                                  for what, k, p, did in registration_refusals],
    }


IDENTIFIERS = [b"email:target@example.org", b"phone:+15551234567"]


def _blinded() -> list[quorum.BlindedIdentifier]:
    out = []
    for k, x in enumerate(IDENTIFIERS):
        point = quorum.identifier_point(x)
        r = Scalar(_scalar(f"quorum blind {k}") or 1)
        out.append(quorum.BlindedIdentifier(point, r, point.mul_secret(r).to_bytes()))
    return out


def _voprf_blinded() -> tuple[list[bytes], list[bytes]]:
    blinds, blinded = [], []
    for k, x in enumerate(IDENTIFIERS):
        r, b = oprf.blind(x, oprf.MODE_VOPRF, ristretto.scalar_from_int(_scalar(f"voprf blind {k}")))
        blinds.append(r)
        blinded.append(b)
    return blinds, blinded


def _request_json(req: evaluation.EvaluationRequest) -> dict[str, Any]:
    """POST /v2/evaluate's body as clients/oprf_client.py sends it."""
    body = {"certificate": b64u_encode(req.certificate), "audience": b64u_encode(req.audience),
            "issued_at": req.issued_at, "nonce": b64u_encode(req.nonce),
            "blinded": [b64u_encode(b) for b in req.blinded], "points": [b64u_encode(p) for p in req.points],
            "signature": b64u_encode(req.signature)}
    assert messages.EvaluateRequestV2.model_validate(body).model_dump() == body
    return body


def evaluation_cases() -> dict[str, Any]:
    """One reporter's signed requests to each key server, the key servers' answers and what the reporter combines."""
    d, admin = _deployment()
    admin_public = signing.public_key(admin)
    run = key_generation()
    params = d.quorum_parameters()
    seed, cert = _account("a"), _certificate("a")
    blinds, blinded = _voprf_blinded()
    points = _blinded()
    requests, responses = [], {}
    for s in d.key_servers:
        nonce = _seed(f"nonce {s.index}")[:16]
        req = evaluation.make_request(seed, cert, d.deployment_id, s.identity_key, blinded,
                                      [p.blinded for p in points], now=NOW, nonce=nonce)
        account = evaluation.verify_request(req, admin_public=admin_public, deployment_id=d.deployment_id,
                                            audience=s.identity_key, now=NOW)
        requests.append({"index": s.index, "signed_bytes": evaluation.signed_bytes(
            d.deployment_id, s.identity_key, NOW, nonce, blinded, [p.blinded for p in points]).hex(),
            "signature": req.signature.hex(), "json": _request_json(req)})
        share = run.results[s.index].oprf_share
        evaluated, proof = oprf.voprf_blind_evaluate(share, s.public_share, blinded,
                                                     ristretto.scalar_from_int(_scalar(f"proof r {s.index}")))
        x = accounts.abscissa(run.results[s.index].abscissa_key, d.deployment_id, account.account_key)
        zs = [quorum.answer(run.results[s.index].shares, x, p.blinded) for p in points]
        responses[s.index] = (x, zs, messages.EvaluateResponseV2(
            index=s.index, evaluated=[b64u_encode(z) for z in evaluated], proof=b64u_encode(proof),
            abscissa=b64u_encode(x.to_bytes()),
            shares=[[b64u_encode(z[q]) for q in d.quorum_range] for z in zs]).model_dump())
    x = responses[1][0]
    outputs = [oprf.evaluate(_oprf_secret(), i, oprf.MODE_VOPRF) for i in IDENTIFIERS]
    combined = []
    for k, (p, y) in enumerate(zip(points, outputs, strict=True)):
        shares = quorum.combine(params, p, y, x, {i: responses[i][1][k] for i in (1, 2)})
        for pair in ((1, 3), (2, 3)):
            again = quorum.combine(params, p, y, x, {i: responses[i][1][k] for i in pair})
            assert dict(again.shares) == dict(shares.shares)
        lie = G1Point.from_bytes(p.blinded).mul_secret(Scalar(424242)).to_bytes()
        lying = {**responses[1][1][k], 3: lie}
        named = quorum.combine(params, p, y, x, {1: lying, 2: responses[2][1][k], 3: responses[3][1][k]})
        assert dict(named.shares) == dict(shares.shares)
        combined.append({"identifier": IDENTIFIERS[k].decode(), "point": p.point.to_bytes().hex(),
                         "r": p.r.to_bytes().hex(), "blinded": p.blinded.hex(), "oprf_output": y.hex(),
                         "base": shares.base.to_bytes().hex(), "tag": matching.match_tag(y).hex(),
                         "shares": {str(q): shares.share_bytes(q) .hex() for q in d.quorum_range},
                         "lying_key_server": {"index": 1, "level": 3, "answer": lie.hex(),
                                              "dishonest": {str(i): why for i, why in named.dishonest.items()}}})
    req = evaluation.make_request(seed, cert, d.deployment_id, d.key_servers[1].identity_key, blinded,
                                  [p.blinded for p in points], now=NOW, nonce=_seed("nonce 2")[:16])
    other_seed = _account("b")
    forged = dataclasses.replace(req, signature=evaluation.make_request(
        other_seed, cert, d.deployment_id, req.audience, blinded, [p.blinded for p in points], now=NOW,
        nonce=req.nonce).signature)
    swapped = dataclasses.replace(req, points=tuple(reversed(req.points)))
    elsewhere = dataclasses.replace(req, certificate=accounts.issue_certificate(
        admin, bytes(16), accounts.account_key(seed), now=NOW))
    audience = d.key_servers[1].identity_key
    refusals = [("meant for key server 1, sent to key server 2", requests_for(d, seed, cert, blinded, points, 1),
                 audience, NOW),
                ("too old", req, audience, NOW + evaluation.FRESHNESS_SECONDS + 1),
                ("from the future", req, audience, NOW - evaluation.FRESHNESS_SECONDS - 1),
                ("signed by another account", forged, audience, NOW),
                ("points swapped after signing", swapped, audience, NOW),
                ("certificate of another deployment", elsewhere, audience, NOW)]
    refused = [{"what": what, "json": _request_json(r), "audience": aud.hex(), "now": now,
                **_refusal(lambda r=r, aud=aud, now=now: evaluation.verify_request(
                    r, admin_public=admin_public, deployment_id=d.deployment_id, audience=aud, now=now))}
               for what, r, aud, now in refusals]
    guard = evaluation.ReplayGuard()
    guard.check(accounts.account_key(seed), req.nonce, req.issued_at, now=NOW)
    replay = _refusal(lambda: guard.check(accounts.account_key(seed), req.nonce, req.issued_at, now=NOW + 1))
    bad_shapes = [("no identifiers", [], []), ("more blinded elements than points", blinded, points[:1]),
                  ("a point of 47 bytes", blinded[:1], [points[0].blinded[:47]]),
                  (f"{evaluation.MAX_ELEMENTS + 1} identifiers", blinded[:1] * 9, [points[0].blinded] * 9)]
    return {
        "label": evaluation.LABEL.decode(), "freshness_seconds": evaluation.FRESHNESS_SECONDS,
        "max_elements": evaluation.MAX_ELEMENTS, "now": NOW, "account": {"seed": seed.hex(), "certificate": cert.hex()},
        "identifiers": [i.decode() for i in IDENTIFIERS],
        "voprf": {"blinds": [b.hex() for b in blinds], "blinded": [b.hex() for b in blinded]},
        "requests": requests,
        "responses": [r[2] for _, r in sorted(responses.items())],
        "abscissa": x.to_bytes().hex(),
        "combined": combined,
        "refused": refused,
        "replay": replay,
        "shape_refusals": [{"what": what, **_refusal(lambda b=b, p=p: evaluation.signed_bytes(
            d.deployment_id, audience, NOW, bytes(16), b, [q if isinstance(q, bytes) else q.blinded for q in p]))}
            for what, b, p in bad_shapes],
    }


def requests_for(d: dep.Deployment, seed: bytes, cert: bytes, blinded: list[bytes],
                 points: list[quorum.BlindedIdentifier], index: int) -> evaluation.EvaluationRequest:
    return evaluation.make_request(seed, cert, d.deployment_id, d.key_server(index).identity_key, blinded,
                                   [p.blinded for p in points], now=NOW, nonce=_seed(f"nonce {index}")[:16])


# -- log events, leaves and receipts ---------------------------------------------------------------


WHEN = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


def _opening(event: bytes, label: str) -> events.Opening:
    return events.Opening(_seed("leaf nonce " + label), event)


def event_cases() -> dict[str, Any]:
    """Every event kind's bytes, its opening and the leaf (the commitment) the log holds; refusals."""
    entry_id, match_id, counselor_id = _seed("entry 0")[:16], _seed("match")[:16], _seed("counselor id")[:16]
    made = [("entry", events.entry_event(entry_id, _seed("content"), WHEN)),
            ("withdrawal", events.withdrawal_event(entry_id, WHEN)),
            ("release", events.release_event(match_id, 3, WHEN)),
            ("opening", events.opening_event(match_id, counselor_id, WHEN)),
            ("padding", events.padding_event(WHEN)),
            ("revocation", events.revocation_event(events.REVOKED_ACCOUNT, _seed("account key"), 7, WHEN)),
            ("last millisecond a date holds", events.withdrawal_event(entry_id, datetime(9999, 12, 31, 23, 59, 59,
                                                                                          999000, tzinfo=UTC)))]
    cases = []
    for label, event in made:
        o = _opening(event, label)
        parsed = events.parse_event(event)
        assert events.parse_opening(o.encoded) == o and events.commit(o.nonce, o.event) == o.leaf
        cases.append({"label": label, "event": event.hex(), "nonce": o.nonce.hex(), "opening": o.encoded.hex(),
                      "leaf": o.leaf.hex(), "kind": parsed.kind, "at_millis": int(parsed.at.timestamp() * 1000),
                      **{k: getattr(parsed, k).hex() for k in ("entry_id", "content_hash", "match_id", "counselor_id")
                         if getattr(parsed, k) is not None},
                      **({"released": parsed.released} if parsed.released is not None else {}),
                      **({"revoked": parsed.revoked, "subject": parsed.subject.hex(), "serial": parsed.serial}
                         if parsed.subject is not None else {})})
    entry = made[0][1]
    bad_events = [("unknown kind", b"\x09" + entry[1:]), ("empty", b""), ("one byte short", entry[:-1]),
                  ("one byte long", entry + b"\x00"),
                  ("time beyond year 9999", entry[:-8] + (253402300800000).to_bytes(8, "big"))]
    bad_openings = [("nonce only", _seed("x")), ("nonce and a bad event", _seed("x") + b"\x09"),
                    ("short nonce", _seed("x")[:31] + entry)]
    return {
        "labels": {"leaf": events.LEAF_LABEL.decode(), "content": events.CONTENT_LABEL.hex()},
        "kinds": {str(k): v for k, v in events.KIND_NAMES.items()},
        "cases": cases,
        "event_refusals": [{"what": what, "event": e.hex(), **_refusal(lambda e=e: events.parse_event(e))}
                           for what, e in bad_events],
        "opening_refusals": [{"what": what, "opening": o.hex(), **_refusal(lambda o=o: events.parse_opening(o))}
                             for what, o in bad_openings],
    }


def receipt_cases() -> dict[str, Any]:
    """v2 receipts: the leaf is a commitment and the tlog-proof's extra line carries its opening."""
    d, _ = _deployment()
    tree = merkle.MemoryTree()
    payload = {
        "entry_id": b64u_encode(_seed("entry 0")[:16]), "quorum": 3,
        "tags": [b64u_encode(_seed("tag b")), b64u_encode(_seed("tag a"))],
        "body": b64u_encode(b"sealed body bytes"),
        "envelopes": [{"key_id": b64u_encode(_seed("k2")[:16]), "ciphertext": b64u_encode(b"ct2")},
                      {"key_id": b64u_encode(_seed("k1")[:16]), "ciphertext": b64u_encode(b"ct1" * 40)}],
        "deployment_serial": 3,
    }
    content = receipts_mod.expected_content(payload)
    entry_id = _seed("entry 0")[:16]
    openings = [_opening(events.entry_event(_seed(f"other {i}")[:16], _seed(f"content {i}"), WHEN), f"other {i}")
                for i in range(6)]
    openings.insert(3, _opening(events.entry_event(entry_id, content, WHEN), "entry"))
    openings.insert(5, _opening(events.padding_event(WHEN), "padding"))
    openings.append(_opening(events.withdrawal_event(entry_id, WHEN), "withdrawal"))
    leaves = [o.leaf for o in openings]
    for leaf in leaves:
        tree.append(leaf)
    size = len(leaves)
    checkpoint = cp.sign_checkpoint(cp.Checkpoint(d.log_origin, size, tree.root(size)), LOG_KEY)
    witness = cp.cosign(checkpoint, "witness.example/w1", WITNESS_KEY, NOW)

    def receipt(index: int, note: str, extra: bytes | None = None) -> str:
        text = make_receipt(index=index, proof=merkle.inclusion_proof(tree, index, size), checkpoint=note,
                            leaf=leaves[index])
        return dataclasses.replace(parse_receipt(text), extra=openings[index].encoded if extra is None
                                   else extra).encode()

    entry_receipt = receipt(3, checkpoint)
    withdrawal_receipt = receipt(size - 1, witness)

    def outcome(label: str, text: str, kind: str, content_hash: bytes | None, eid: bytes = entry_id) -> dict[str, Any]:
        case: dict[str, Any] = {"label": label, "text": text, "kind": kind, "entry_id": eid.hex(),
                                "content": content_hash.hex() if content_hash else None}
        try:
            result = receipts_mod.check(text, d, eid, kind=kind, content=content_hash)
        except ConsilienceError as exc:
            case.update(error=str(exc), type=type(exc).__name__)
        else:
            opened = receipts_mod.open_receipt(text, d.log_vkey)
            case.update(index=result.index, tree_size=result.tree_size, root_hash=result.root_hash.hex(),
                        leaf=opened.opening.leaf.hex(), opening=opened.opening.encoded.hex(), event=opened.event.kind,
                        at=opened.event.at.isoformat(), at_millis=int(opened.event.at.timestamp() * 1000))
        return case

    lines = entry_receipt.split("\n")
    idx = lines.index("index 3")
    other_log = cp.sign_checkpoint(cp.Checkpoint(d.log_origin, size, tree.root(size)), _seed("other log"))
    wrong_origin = cp.sign_checkpoint(cp.Checkpoint("other.example/log", size, tree.root(size)), LOG_KEY)
    short = cp.sign_checkpoint(cp.Checkpoint(d.log_origin, 4, tree.root(4)), LOG_KEY)
    no_opening = dataclasses.replace(parse_receipt(entry_receipt), extra=None).encode()
    cases = [
        outcome("entry", entry_receipt, "entry", content),
        outcome("entry without content check", entry_receipt, "entry", None),
        outcome("withdrawal (cosigned checkpoint)", withdrawal_receipt, "withdrawal", None),
        outcome("entry receipt for a withdrawal", entry_receipt, "withdrawal", None),
        outcome("other entry id", entry_receipt, "entry", content, eid=bytes(16)),
        outcome("other content", entry_receipt, "entry", bytes(32)),
        outcome("index changed", "\n".join(lines[:idx] + ["index 4"] + lines[idx + 1:]), "entry", content),
        outcome("proof hash changed", "\n".join(lines[:idx + 1] + [lines[idx + 1][:-2] + "A="] + lines[idx + 2:]),
                "entry", content),
        outcome("other log key", entry_receipt.replace(checkpoint, other_log), "entry", content),
        outcome("other origin", entry_receipt.replace(checkpoint, wrong_origin), "entry", content),
        outcome("checkpoint of another size", entry_receipt.replace(checkpoint, short), "entry", content),
        outcome("no header", entry_receipt.replace("c2sp.org/tlog-proof@v1", "tlog-proof"), "entry", content),
        outcome("garbage", "hello", "entry", content),
        outcome("extra not base64", entry_receipt.replace("extra ", "extra !"), "entry", content),
        outcome("no opening (a v1 receipt)", no_opening, "entry", content),
        outcome("opening too short", receipt(3, checkpoint, extra=bytes(32)), "entry", content),
        outcome("opening with another nonce", receipt(3, checkpoint, extra=bytes(32) + openings[3].event), "entry",
                content),
        outcome("opening of another leaf", receipt(3, checkpoint, extra=openings[4].encoded), "entry", content),
        outcome("padding leaf's receipt for an entry", receipt(5, checkpoint), "entry", content),
    ]
    return {
        "log_vkey": d.log_vkey, "origin": d.log_origin, "payload": payload, "content": content.hex(),
        "checkpoint": checkpoint, "cosigned_checkpoint": witness, "cases": cases,
        "openings": [o.encoded.hex() for o in openings],
        "merkle": {"leaves": [leaf.hex() for leaf in leaves], "root": tree.root(size).hex(),
                   "proofs": [{"index": i, "size": s, "proof": [h.hex() for h in merkle.inclusion_proof(tree, i, s)],
                               "root": tree.root(s).hex()}
                              for s in range(1, size + 1) for i in range(s)]},
        "notes": {"vkey": d.log_vkey,
                  "witness_vkey": d.witnesses[0],
                  "key_id": notes.key_id(d.log_origin, notes.SIG_ED25519, d.log_public_key).hex()},
    }


def invite_cases() -> dict[str, Any]:
    """Invite strings (v2: the account seed) as the admin tool prints them, and refusals with Python's messages."""
    valid = []
    for label in ("a", "b", "c"):
        invite = invites.Invite(_seed("invite seed " + label), _seed("invite fpr " + label)[:16])
        for text in (str(invite), f"  {invite}\n"):
            valid.append({"text": text, "seed": invite.seed.hex(), "admin_fingerprint": invite.admin_fingerprint.hex(),
                          "account_key": accounts.account_key(invite.seed).hex()})
    good = str(invites.Invite(bytes(range(32)), bytes(range(32, 48))))
    seed, fpr = good.split(".")[1:]
    v1_code = b64u_encode(bytes(range(16)))
    bad = ["", "cnsl2", f"cnsl3.{seed}.{fpr}", f"cnsl2.{seed}", f"cnsl2.{seed}.{fpr}.x", f"CNSL2.{seed}.{fpr}",
           f"cnsl2.{seed[:-2]}.{fpr}", f"cnsl2.{seed}.{fpr}AA", f"cnsl2.{seed[:-1]}B.{fpr}", f"cnsl2.{seed}=.{fpr}",
           f"cnsl2..{fpr}", f"cnsl2.{v1_code}.{fpr}",
           # protocol v1 invites (a 16-byte code), in any case: refused by name
           f"cnsl1.{v1_code}.{fpr}", f"CNSL1.{v1_code}.{fpr}", f"  cnsl1.{seed}.{fpr}\n", "cnsl1.",
           # typed by hand: one character wrong (a letter only base64 lacks), one missing, a space inside,
           # a counselor's credential pasted instead, nothing at all
           f"cnsl2.{seed[:5]}ä{seed[6:]}.{fpr}", f"cnsl2.{seed}.{fpr[:10]}{fpr[11:]}",
           f"cnsl2.{seed[:8]} {seed[8:]}.{fpr}", f"cnslc1.{seed}.{fpr}", "   \n"]
    refused = []
    for text in bad:
        try:
            invites.parse(text)
        except InvalidInput as exc:
            refused.append({"text": text, "error": str(exc)})
        else:
            raise AssertionError(f"invite {text!r} was accepted")
    assert sum(r["error"] == invites.OLD_VERSION for r in refused) == 4
    return {"valid": valid, "refused": refused,
            "messages": {"empty": invites.EMPTY, "mistyped": invites.MISTYPED, "credential": invites.CREDENTIAL,
                         "old_version": invites.OLD_VERSION}}


def build() -> dict[str, Any]:
    return {
        "invites": invite_cases(),
        "identifiers": {"max_length": identifiers.MAX_LENGTH, "kinds": list(identifiers.KINDS),
                        "platforms": platform_data(), "cases": identifier_cases(), "many": many_cases()},
        "unicode": unicode_digests(),
        "body": body_cases(),
        "dkg": dkg_cases(),
        "deployment": deployment_cases(),
        "accounts": account_cases(),
        "evaluation": evaluation_cases(),
        "events": event_cases(),
        "receipts": receipt_cases(),
        "entries_v2": {"see": "tests/vectors/entry_v2_interop.json (tests/vectors/make_entry_v2.py): envelopes and "
                              "entries v2, opening a match with bogus shares and a lying key server, the GT encoding"},
    }
