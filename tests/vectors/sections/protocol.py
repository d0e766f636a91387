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
* ``body``: entry bodies (structured and not) and their exact bytes; refusals.
* ``deployment``: a signed deployment document with the pinned fingerprint,
  plus tampered copies and the refusal each must get.
* ``receipts``: signed checkpoints, inclusion proofs and tlog-proof receipts
  for entry and withdrawal events, plus tampered copies.
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
from consilience.crypto import hpke, ristretto, signing
from consilience.errors import ConsilienceError, InvalidInput
from consilience.protocol import deployment as dep
from consilience.protocol import events, identifiers, invites
from consilience.protocol.encoding import b64u_encode
from consilience.protocol.entry import Attachment, Body
from consilience.tlog import checkpoint as cp
from consilience.tlog import merkle, notes
from consilience.tlog.receipt import make_receipt

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
                b'{"v":1,"record":1,"identifiers":[],"canonical":[],"contact":"","written_at":""}',
                b'{"v":1,"record":"","identifiers":[1],"canonical":[],"contact":"","written_at":""}',
                b'{"v":1,"record":"","identifiers":[],"canonical":[],"contact":"","written_at":"","details":{}}',
                b'{"v":1,"record":"","identifiers":[],"canonical":[],"contact":"","written_at":"","details":{"who":"x"}}',
                b'{"v":1,"record":"","identifiers":[],"canonical":[],"contact":"","written_at":"","details":{"what":""}}',
                b'{"v":1,"record":"","identifiers":[],"canonical":[],"contact":"","written_at":"","attachments":[]}',
                b'{"v":1,"record":"","identifiers":[],"canonical":[],"contact":"","written_at":"",'
                b'"attachments":[{"name":"a","type":"t","data":"AB"}]}',
                b'{"v":1,"record":"","identifiers":[],"canonical":[],"contact":"","written_at":"",'
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
# deployment and receipts (fixed keys derived from labels, so the file is stable)


def _seed(label: str) -> bytes:
    return hashlib.sha256(b"consilience interop protocol " + label.encode()).digest()


def _scalar(label: str) -> int:
    return int.from_bytes(hashlib.sha512(_seed(label)).digest(), "little") % ristretto.ORDER


def _base(x: int) -> bytes:
    return ristretto.scalar_mult_base(ristretto.scalar_from_int(x))


def _deployment(serial: int = 3) -> tuple[dep.Deployment, bytes]:
    threshold, n = 2, 3
    secret = _scalar("oprf key")
    a1 = _scalar("oprf poly")
    shares = {i: (secret + a1 * i) % ristretto.ORDER for i in range(1, n + 1)}
    counselors = []
    for name in ["Robin", "Sam"]:
        seed = _seed("counselor " + name)
        public = hpke.public_key_bytes(seed)
        counselors.append(dep.Counselor(name, hpke.key_id(public), public))
    log_private = _seed("log key")
    witness_private = _seed("witness key")
    d = dep.Deployment(
        deployment_id=_seed("deployment id")[:16], serial=serial, issued_at="2026-01-02T03:04:05+00:00",
        quorum=2, max_quorum=5, escrow_url="https://escrow.example",
        token_issuer_key=signing.public_key(_seed("issuer")),
        threshold=threshold, oprf_public_key=_base(secret),
        key_servers=tuple(dep.KeyServer(i, f"https://ks{i}.example", _base(s))
                          for i, s in shares.items()),
        counselors=tuple(counselors), log_origin="escrow.example/log", log_public_key=signing.public_key(log_private),
        witnesses=(cp.cosignature_vkey("witness.example/w1", signing.public_key(witness_private)),))
    return d, _seed("admin key")


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
    resigned = lambda text: {  # noqa: E731 - a correctly signed document with other content
        "document": b64u_encode(text),
        "signature": b64u_encode(signing.sign(admin, dep.SIGNING_PREFIX + text)),
        "admin_key": published["admin_key"]}
    bad_share = json.loads(json.dumps(doc))
    bad_share["oprf"]["servers"][2]["public_share"] = b64u_encode(_base(12345))
    bad_counselor = json.loads(json.dumps(doc))
    bad_counselor["counselors"][0]["key_id"] = b64u_encode(bytes(16))
    refusals = [
        tampered("stale serial", published, min_serial=4),
        tampered("other admin pinned", published, fp=dep.admin_fingerprint(signing.public_key(other_admin))),
        tampered("signature by another key", {**published, "signature": b64u_encode(
            signing.sign(other_admin, dep.SIGNING_PREFIX + dep.b64u_decode(published["document"])))}),
        tampered("document changed", {**published, "document": b64u_encode(
            dep.b64u_decode(published["document"]).replace(b'"quorum":2', b'"quorum":3'))}),
        tampered("not canonical", resigned(json.dumps(doc, sort_keys=True).encode())),
        tampered("inconsistent public share", resigned(dep.canonical_json(bad_share))),
        tampered("counselor key id", resigned(dep.canonical_json(bad_counselor))),
        tampered("not JSON", resigned(b"not json")),
        tampered("no signature", {k: v for k, v in published.items() if k != "signature"}),
    ]
    return {
        "published": published, "fingerprint": fingerprint.hex(), "fingerprint_b64u": b64u_encode(fingerprint),
        "expected": {
            "serial": d.serial, "quorum": d.quorum, "max_quorum": d.max_quorum, "threshold": d.threshold,
            "escrow_url": d.escrow_url, "issued_at": d.issued_at, "deployment_id": d.deployment_id.hex(),
            "token_issuer_key": d.token_issuer_key.hex(), "oprf_public_key": d.oprf_public_key.hex(),
            "key_servers": [{"index": s.index, "url": s.url, "public_share": s.public_share.hex()}
                            for s in d.key_servers],
            "counselors": [{"name": c.name, "key_id": c.key_id.hex(), "public_key_sha256":
                            hashlib.sha256(c.public_key).hexdigest()} for c in d.counselors],
            "log": {"origin": d.log_origin, "public_key": d.log_public_key.hex(), "vkey": d.log_vkey,
                    "witnesses": list(d.witnesses)},
        },
        "refusals": refusals,
    }


def receipt_cases() -> dict[str, Any]:
    d, _ = _deployment()
    log_private = _seed("log key")
    tree = merkle.MemoryTree()
    when = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
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
    leaves = []
    for i in range(6):
        leaves.append(events.entry_leaf(_seed(f"other {i}")[:16], _seed(f"content {i}"), when))
    leaves.insert(3, events.entry_leaf(entry_id, content, when))
    leaves.append(events.withdrawal_leaf(entry_id, when))
    for leaf in leaves:
        tree.append(leaf)
    size = len(leaves)
    checkpoint = cp.sign_checkpoint(cp.Checkpoint(d.log_origin, size, tree.root(size)), log_private)
    witness = cp.cosign(checkpoint, "witness.example/w1", _seed("witness key"), 1_767_323_045)

    def receipt(index: int, note: str) -> str:
        return make_receipt(index=index, proof=merkle.inclusion_proof(tree, index, size), checkpoint=note,
                            leaf=leaves[index])

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
            event = events.parse_leaf(result.leaf)
            case.update(index=result.index, tree_size=result.tree_size, root_hash=result.root_hash.hex(),
                        leaf=result.leaf.hex(), event=event.kind, at=event.at.isoformat(),
                        at_millis=int(event.at.timestamp() * 1000))
        return case

    lines = entry_receipt.split("\n")
    idx = lines.index("index 3")
    other_log = cp.sign_checkpoint(cp.Checkpoint(d.log_origin, size, tree.root(size)), _seed("other log"))
    wrong_origin = cp.sign_checkpoint(cp.Checkpoint("other.example/log", size, tree.root(size)), log_private)
    short = cp.sign_checkpoint(cp.Checkpoint(d.log_origin, 4, tree.root(4)), log_private)
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
    ]
    return {
        "log_vkey": d.log_vkey, "origin": d.log_origin, "payload": payload, "content": content.hex(),
        "checkpoint": checkpoint, "cosigned_checkpoint": witness, "cases": cases,
        "merkle": {"leaves": [leaf.hex() for leaf in leaves], "root": tree.root(size).hex(),
                   "proofs": [{"index": i, "size": s, "proof": [h.hex() for h in merkle.inclusion_proof(tree, i, s)],
                               "root": tree.root(s).hex()}
                              for s in range(1, size + 1) for i in range(s)]},
        "notes": {"vkey": d.log_vkey,
                  "witness_vkey": d.witnesses[0],
                  "key_id": notes.key_id(d.log_origin, notes.SIG_ED25519, d.log_public_key).hex()},
    }


def invite_cases() -> dict[str, Any]:
    """Invite strings as the admin tool prints them, and refusals with Python's messages."""
    valid = []
    for label in ("a", "b", "c"):
        invite = invites.Invite(_seed("invite code " + label)[:16], _seed("invite fpr " + label)[:16])
        for text in (str(invite), f"  {invite}\n"):
            valid.append({"text": text, "code": invite.code.hex(), "admin_fingerprint": invite.admin_fingerprint.hex()})
    good = str(invites.Invite(bytes(range(16)), bytes(range(16, 32))))
    code, fpr = good.split(".")[1:]
    bad = ["", "cnsl1", f"cnsl2.{code}.{fpr}", f"cnsl1.{code}", f"cnsl1.{code}.{fpr}.x", f"CNSL1.{code}.{fpr}",
           f"cnsl1.{code[:-2]}.{fpr}", f"cnsl1.{code}.{fpr}AA", f"cnsl1.{code[:-1]}B.{fpr}", f"cnsl1.{code}=.{fpr}",
           f"cnsl1..{fpr}",
           # typed by hand: one character wrong (a letter only base64 lacks), one missing, a space inside,
           # a counselor's credential pasted instead, nothing at all
           f"cnsl1.{code[:5]}ä{code[6:]}.{fpr}", f"cnsl1.{code}.{fpr[:10]}{fpr[11:]}",
           f"cnsl1.{code[:8]} {code[8:]}.{fpr}", f"cnslc1.{code}AAAAAAAAAAA.{fpr}", "   \n"]
    refused = []
    for text in bad:
        try:
            invites.parse(text)
        except InvalidInput as exc:
            refused.append({"text": text, "error": str(exc)})
        else:
            raise AssertionError(f"invite {text!r} was accepted")
    return {"valid": valid, "refused": refused}


def build() -> dict[str, Any]:
    return {
        "invites": invite_cases(),
        "identifiers": {"max_length": identifiers.MAX_LENGTH, "kinds": list(identifiers.KINDS),
                        "platforms": platform_data(), "cases": identifier_cases(), "many": many_cases()},
        "unicode": unicode_digests(),
        "body": body_cases(),
        "deployment": deployment_cases(),
        "receipts": receipt_cases(),
    }
