"""Turning what a reporter typed into the canonical string fed to the OPRF.

Matching is blind: two reporters' entries meet only if the bytes they feed to
the OPRF are identical. So every way of typing the same person must collapse
to one canonical string (``"x:danasmith_"``, ``"email:dana.smith@example.com"``,
``"phone:+442079460958"``), and anything we cannot normalise with confidence
is *rejected* with a message the reporter can act on. We never guess: a
wrong guess could merge two different people (a false match that unseals
records), which is far worse than asking the reporter to retype.

The canonical form is ``"<kind>:<value>"``. Values never contain whitespace
and are stable: feeding a canonical string back in (``normalise("x:foo")``)
yields the same canonical string. Every client must run exactly this code;
any change to the rules below changes which entries match and is a protocol
change.

Everything that differs between kinds is one :class:`Platform` record in
:data:`PLATFORMS` at the end of this module, so adding a platform is adding a
record (and its parsers if the generic ones do not fit). The web SDK keeps
the same registry; its data fields are in the shared interop vectors, so the
two cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from urllib.parse import parse_qs, unquote, urlsplit

import phonenumbers

from consilience.errors import InvalidInput
from consilience.i18n import N_, _

__all__ = ["KINDS", "MAX_LENGTH", "PLATFORMS", "PLATFORMS_BY_KIND", "Identifier", "Platform", "normalise",
           "normalise_many"]

MAX_LENGTH = 256
"""Longest input accepted; no real handle, address or profile link is longer."""


@dataclass(frozen=True)
class Identifier:
    """One normalised identifier.

    ``typed`` is kept only so the reporter sees their own words back; it never
    leaves the device in clear and plays no part in matching. Only
    ``oprf_input`` (the UTF-8 of ``canonical``) is blinded and evaluated.
    """

    kind: str
    value: str
    typed: str

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InvalidInput(_("unknown identifier kind {kind}", kind=repr(self.kind)))
        if not self.value or any(c.isspace() for c in self.value):
            raise InvalidInput(_("an identifier value must be non-empty and contain no whitespace"))

    @property
    def canonical(self) -> str:
        """``kind:value``; the kind prefix keeps e.g. x:foo and github:foo apart."""
        return f"{self.kind}:{self.value}"

    @property
    def oprf_input(self) -> bytes:
        """The exact bytes blinded for the OPRF."""
        return self.canonical.encode("utf-8")

    def display(self) -> str:
        """A short human-readable rendering, e.g. ``"X @danasmith_"``.

        For showing a reporter what will be matched on, so they can spot a
        typo before sealing; never used as protocol input.
        """
        platform = PLATFORMS_BY_KIND[self.kind]
        return f"{platform.label} {platform.show(self.value)}"


# ---------------------------------------------------------------------------
# entry points


def normalise(raw: str, kind: str | None = None, default_region: str | None = None) -> Identifier:
    """Normalise one typed identifier or raise :class:`InvalidInput`.

    ``kind`` may be given explicitly, or as a ``"kind:"`` prefix on ``raw``
    (``"instagram:@Foo"``); otherwise it is detected from the shape of the
    input (an email address, a phone number starting with ``+``, a profile
    link of a known platform, or ``@user@instance`` for Mastodon). A bare
    handle such as ``"@foo"`` is refused without a kind because it could
    belong to any platform.

    ``default_region`` (e.g. ``"GB"``) lets phone numbers be typed in national
    form; without it a phone number must start with ``+`` and a country code.
    """
    if not isinstance(raw, str):
        raise InvalidInput(_("an identifier must be text"))
    region = _check_region(default_region)
    typed = raw.strip()
    if not typed:
        raise InvalidInput(_("an identifier is empty; type an email address, phone number or profile"))
    _check_text(typed, typed)
    text = unicodedata.normalize("NFKC", typed).strip()
    _check_text(text, typed)

    if kind is not None:
        kind = _check_kind(kind)
    prefixed, rest = _split_prefix(text)
    if prefixed is not None:
        if kind is not None and prefixed != kind:
            raise InvalidInput(_("{typed} says {prefixed}: but was given as {kind}; remove the prefix",
                                 typed=_quote(typed), prefixed=prefixed, kind=kind))
        kind, text = prefixed, rest
        if not text:
            raise InvalidInput(_("nothing follows '{prefixed}:' in {typed}", prefixed=prefixed, typed=_quote(typed)))
    if kind is None:
        kind = _detect(text, typed)

    if kind == "email":
        value = _email(text, typed)
    elif kind == "phone":
        value = _phone(text, typed, region)
    else:
        value = _profile(PLATFORMS_BY_KIND[kind], text, typed)
    return Identifier(kind=kind, value=value, typed=typed)


def normalise_many(raws: list[str], default_region: str | None = None) -> list[Identifier]:
    """Normalise a list, dropping repeats of the same canonical identifier.

    Repeats are dropped (first one wins, order kept) because a reporter who
    names someone twice, e.g. by two spellings of one email, names one person
    once. The first invalid entry aborts the whole list, with its 1-based
    position in the message so the reporter knows which line to fix.
    """
    out: list[Identifier] = []
    seen: set[str] = set()
    for position, raw in enumerate(raws, start=1):
        try:
            ident = normalise(raw, default_region=default_region)
        except InvalidInput as exc:
            raise InvalidInput(_("identifier {position}: {exc}", position=position, exc=exc)) from exc
        if ident.canonical not in seen:
            seen.add(ident.canonical)
            out.append(ident)
    return out


# ---------------------------------------------------------------------------
# shared checks


def _quote(text: str) -> str:
    """The reporter's input for an error message: shortened, unprintables escaped."""
    shown = text if len(text) <= 60 else text[:57] + "..."
    shown = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in shown)
    return f"'{shown}'"


def _check_text(text: str, typed: str) -> None:
    if len(text) > MAX_LENGTH:
        raise InvalidInput(_("{typed} is longer than {MAX_LENGTH} characters; type just the address, number or "
                             "profile link", typed=_quote(typed), MAX_LENGTH=MAX_LENGTH))
    for c in text:
        # Control, format (zero-width etc.), surrogate, private-use and
        # unassigned characters are invisible or meaningless in a name and
        # would silently make two identical-looking inputs differ.
        if unicodedata.category(c).startswith("C"):
            raise InvalidInput(_("{typed} contains an invisible or control character (U+{ord_c:04X}); retype it "
                                 "rather than pasting", typed=_quote(typed), ord_c=ord(c)))


def _check_region(region: str | None) -> str | None:
    if region is None:
        return None
    if not isinstance(region, str) or region.strip().upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidInput(_("unknown phone region {region}; use a two-letter country code such as GB or US",
                             region=repr(region)))
    return region.strip().upper()


def _check_kind(kind: str) -> str:
    k = kind.strip().lower() if isinstance(kind, str) else ""
    k = _KIND_ALIASES.get(k, k)
    if k not in KINDS:
        raise InvalidInput(_("unknown identifier kind {kind}; use one of: {kinds}",
                             kind=repr(kind), kinds=', '.join(KINDS)))
    return k


def _split_prefix(text: str) -> tuple[str | None, str]:
    """``"Instagram: @foo"`` -> ``("instagram", "@foo")``; unknown prefixes are left alone."""
    head, sep, tail = text.partition(":")
    if not sep:
        return None, text
    k = head.strip().lower()
    k = _KIND_ALIASES.get(k, k)
    if k in KINDS:
        return k, tail.strip()
    return None, text


_PHONE_CHARS = re.compile(r"\+?[\d ()\-./]+")


def _detect(text: str, typed: str) -> str:
    """Guess the kind only from unambiguous shapes; otherwise ask."""
    if text.startswith("@") and text.count("@") == 2 and "/" not in text:
        return "mastodon"
    url = _as_url(text, None)
    if url is not None:
        return url.kind
    if "@" in text and not text.startswith("@"):
        return "email"
    if _PHONE_CHARS.fullmatch(text) and any(c.isdigit() for c in text):
        return "phone"
    if text.lower().removeprefix("@").endswith(".bsky.social"):
        return "bluesky"
    raise InvalidInput(
        _("cannot tell what kind of identifier {typed} is; prefix it with its kind, e.g. instagram:@name, x:@name, "
          "tiktok:@name or email:name@example.com (kinds: {kinds})",
          typed=_quote(typed), kinds=', '.join(KINDS)))


# ---------------------------------------------------------------------------
# email

_ATEXT = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+")
_GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


def _email(text: str, typed: str) -> str:
    """Lower-cased ``local@domain`` with an IDNA (punycode) domain.

    The whole address is lower-cased. RFC 5321 lets a server treat the local
    part case-sensitively, but practically no provider does, and here a false
    non-match (two reporters never meeting because one typed ``Dana@``) is the
    failure that matters; lower-casing cannot merge two real people on any
    mainstream provider.

    Dots and ``+tags`` are *not* removed in general: for most providers
    ``a.b@`` and ``ab@`` are different mailboxes, and stripping them would
    merge different people. Only for Gmail (``gmail.com``/``googlemail.com``),
    which documents that dots are ignored and ``+anything`` is delivered to
    the same inbox, do we drop dots and the tag and fold googlemail.com into
    gmail.com. Custom domains hosted by Google Workspace do *not* ignore
    dots, so the rule keys on the domain name only.
    """
    def bad(why: str) -> InvalidInput:
        return InvalidInput(_("{typed} is not a valid email address: {why}", typed=_quote(typed), why=why))

    if any(c.isspace() for c in text):
        raise bad(_("it contains a space; type only the address, e.g. name@example.com"))
    if text.count("@") != 1:
        raise bad(_("it must contain exactly one @, e.g. name@example.com"))
    local, domain = text.split("@")
    if not local:
        raise bad(_("nothing before the @"))
    if len(local) > 64:
        raise bad(_("the part before the @ is longer than 64 characters"))
    if not local.isascii():
        # Internationalised local parts (RFC 6531) are rare and their case
        # rules are provider-specific; refusing beats guessing.
        raise bad(_("only unaccented letters, digits and . _ + - are supported before the @"))
    atoms = local.split(".")
    if any(not a for a in atoms):
        raise bad(_("dots before the @ cannot be first, last or doubled"))
    if not all(_ATEXT.fullmatch(a) for a in atoms):
        raise bad(_("it contains characters not allowed before the @ (quotes, commas, brackets...)"))
    local = local.lower()
    if not domain:
        raise bad(_("nothing after the @"))
    domain = _domain(domain, lambda why: bad(why))
    if domain in _GMAIL_DOMAINS:
        local = local.split("+", 1)[0].replace(".", "")
        domain = "gmail.com"
        if not local:
            raise bad(_("a Gmail address needs letters or digits before the + or @"))
    address = f"{local}@{domain}"
    if len(address) > 254:
        raise bad(_("it is longer than 254 characters"))
    return address


# IDNA2003 (Python's codec) and IDNA2008 disagree about these; refuse rather
# than pick one and risk matching straße.de with strasse.de.
_IDNA_DEVIATIONS = frozenset("\u00df\u03c2\u200c\u200d")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def _domain(text: str, bad: Callable[[str], InvalidInput]) -> str:
    """Lower-case ASCII (punycode) domain with at least two valid labels.

    ``bad(why)`` builds the exception, so messages name what the domain was
    for (an email address, a Mastodon instance, a Bluesky handle).
    """
    d = text[:-1] if text.endswith(".") else text
    if not d:
        raise bad(_("the domain is empty"))
    if any(c in _IDNA_DEVIATIONS for c in d):
        raise bad(_("the domain contains ß, ς or a zero-width joiner; type its xn-- form instead"))
    labels = d.split(".")
    if len(labels) < 2:
        raise bad(_("the domain needs a dot, e.g. example.com"))
    out = []
    for label in labels:
        if not label:
            raise bad(_("the domain has an empty part (two dots in a row?)"))
        if label.isascii():
            ascii_label = label.lower()
        else:
            try:
                ascii_label = label.encode("idna").decode("ascii").lower()
            except (UnicodeError, ValueError):
                raise bad(_("{label} is not a valid domain label", label=_quote(label))) from None
        if not _LABEL.fullmatch(ascii_label):
            raise bad(_("{label} is not a valid domain label (letters, digits and inner hyphens only)",
                        label=_quote(label)))
        if ascii_label.startswith("xn--"):
            try:
                roundtrip = ascii_label.encode("ascii").decode("idna").encode("idna").decode("ascii")
            except (UnicodeError, ValueError):
                roundtrip = None
            if roundtrip != ascii_label:
                raise bad(_("{label} is not a valid internationalised domain label", label=_quote(label)))
        out.append(ascii_label)
    if out[-1].isdigit():
        raise bad(_("the domain must be a name, not an IP address"))
    result = ".".join(out)
    if len(result) > 253:
        raise bad(_("the domain is longer than 253 characters"))
    return result


# ---------------------------------------------------------------------------
# phone


def _phone(text: str, typed: str, region: str | None) -> str:
    """E.164 (``+442079460958``) of a number libphonenumber deems valid.

    Only digits, spaces and ``( ) - . /`` are accepted: letters (vanity
    numbers, ``ext. 12``) are refused because an extension would be silently
    dropped and two different desks would then match.
    """
    example = _("include the country code, e.g. {example}", example=PHONE_EXAMPLE)
    if not _PHONE_CHARS.fullmatch(text) or not any(c.isdigit() for c in text):
        raise InvalidInput(_("{typed} is not a valid phone number; use only digits, spaces and a leading +, and "
                             "{example}", typed=_quote(typed), example=example))
    if region is None and not text.startswith("+"):
        raise InvalidInput(_("{typed} has no country code; write it with + and the country code, e.g. "
                             "{PHONE_EXAMPLE}", typed=_quote(typed), PHONE_EXAMPLE=PHONE_EXAMPLE))
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise InvalidInput(_("{typed} is not a valid phone number; {example}", typed=_quote(typed),
                             example=example)) from None
    if number.extension or not phonenumbers.is_valid_number(number):
        if region and not text.startswith("+"):
            raise InvalidInput(_("{typed} is not a valid phone number (read as a {region} number); {example}",
                                 typed=_quote(typed), region=region, example=example))
        raise InvalidInput(_("{typed} is not a valid phone number; {example}", typed=_quote(typed), example=example))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# ---------------------------------------------------------------------------
# profile links

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")


@dataclass(frozen=True)
class _Url:
    kind: str           # platform of the host, or "mastodon" for an unknown host when asked for
    host: str           # lower-cased as typed (www./m. kept: a Mastodon instance may be m.example)
    segments: list[str]
    query: str
    fragment: str


def _strip_host(host: str) -> str:
    host = host.lower().rstrip(".")
    changed = True
    while changed:
        changed = False
        for prefix in ("www.", "m.", "mobile."):
            if host.startswith(prefix) and host.count(".") >= 2:
                host, changed = host[len(prefix):], True
    return host


def _platform_for_host(host: str) -> str | None:
    host = _strip_host(host)
    if host in _HOSTS:
        return _HOSTS[host]
    sub, _unused, parent = host.partition(".")
    if parent in _COUNTRY_MIRRORED and re.fullmatch(r"[a-z]{2}", sub):
        return _COUNTRY_MIRRORED[parent]   # country mirrors such as uk.linkedin.com
    return None


def _as_url(text: str, kind: str | None) -> _Url | None:
    """Parse ``text`` as a profile link, or return None if it is not link-shaped.

    Without a scheme, text counts as a link only when it starts with a known
    platform's host (and, when the kind is already known, has a path), so a
    Bluesky handle like ``github.com`` is not mistaken for a GitHub link.
    """
    m = _SCHEME.match(text)
    if m:
        if m.group(1).lower() not in ("http", "https"):
            raise InvalidInput(_("{text} is not a web link; copy the profile's https:// address", text=_quote(text)))
        rest = text[m.end():]
    else:
        rest = text
    host_part = re.split(r"[/?#]", rest, maxsplit=1)[0]
    host = _strip_host(host_part)
    platform = _platform_for_host(host_part) if host_part.isascii() else None
    if not m:
        if platform is None and host not in _SHORT_HOSTS:
            return None
        if kind is not None and "/" not in rest:
            return None
    if "@" in host_part or ":" in host_part:
        raise InvalidInput(_("{text} has a user name or port in the link; copy the profile address exactly as the "
                             "browser shows it", text=_quote(text)))
    if host in _SHORT_HOSTS:
        raise InvalidInput(_("{text} is a shortened link; open it in a browser and copy the address of the profile "
                             "it leads to", text=_quote(text)))
    if platform is None:
        if kind == "mastodon":
            platform = "mastodon"
        else:
            if "/@" in rest:
                raise InvalidInput(_("{text} is not a link to a platform we recognise; if it is a Mastodon profile, "
                                     "type mastodon: before it; supported kinds: {kinds}",
                                     text=_quote(text), kinds=", ".join(KINDS)))
            raise InvalidInput(_("{text} is not a link to a platform we recognise; supported kinds: {kinds}",
                                 text=_quote(text), kinds=", ".join(KINDS)))
    try:
        parts = urlsplit("https://" + rest)
    except ValueError:
        raise InvalidInput(_("{text} is not a well-formed link", text=_quote(text))) from None
    path = parts.path.strip("/")
    segments = path.split("/") if path else []
    if any(not s for s in segments):
        raise InvalidInput(_("{text} is not a well-formed link (it contains '//')", text=_quote(text)))
    segments = [unicodedata.normalize("NFKC", unquote(s)) for s in segments]
    return _Url(kind=platform, host=host_part.lower().rstrip("."), segments=segments,
                query=parts.query, fragment=parts.fragment)


def _profile(platform: Platform, text: str, typed: str) -> str:
    url = _as_url(text, platform.kind)
    if url is None:
        return platform.parse_name(platform, text, typed)
    if url.kind != platform.kind:
        raise InvalidInput(_("{typed} is a {link_label} link, not {label}; type {kind}: in front of it or remove "
                             "the {platform_kind}: prefix", typed=_quote(typed),
                             link_label=PLATFORMS_BY_KIND[url.kind].label, label=platform.label, kind=url.kind,
                             platform_kind=platform.kind))
    return platform.parse_url(platform, url, typed)


def _not_profile(platform: Platform, typed: str, what: str | None = None) -> InvalidInput:
    """``what`` (translated) is the kind of page ``typed`` links to."""
    return InvalidInput(_("{typed} links to {what} on {label}; open the person's profile and copy its address, "
                          "e.g. {example}", typed=_quote(typed), what=what or _("a page that is not a profile"),
                          label=platform.label, example=platform.example))


def _bad_handle(platform: Platform, typed: str, rule: str) -> InvalidInput:
    """``rule`` is translated, or a platform's ``rule`` (a message id, translated here)."""
    return InvalidInput(_("{typed} is not a valid {label} name: {rule}",
                          typed=_quote(typed), label=platform.label, rule=_(rule)))


def _one_profile_segment(platform: Platform, url: _Url, typed: str) -> str:
    """For ``host/<name>[/<tab>]`` platforms: the name, or a clear refusal."""
    segs = url.segments
    if not segs:
        raise _not_profile(platform, typed, _("the home page"))
    first = segs[0].lower()
    if first in platform.posts:
        raise _not_profile(platform, typed, _("a single post"))
    if first in platform.reserved:
        raise _not_profile(platform, typed)
    if len(segs) == 1 or (len(segs) == 2 and segs[1].lower() in platform.tabs):
        return segs[0]
    if len(segs) >= 2 and segs[1].lower() in {"status", "statuses", "posts", "post", "p", "video"}:
        raise _not_profile(platform, typed, _("a single post"))
    raise _not_profile(platform, typed)


def _handle(platform: Platform, text: str, typed: str) -> str:
    """Strip one leading @, lower-case (these platforms ignore case), check against the pattern."""
    name = text.removeprefix("@").lower()
    if not re.fullmatch(platform.pattern, name):
        raise _bad_handle(platform, typed, platform.rule)
    return name


def _handle_url(platform: Platform, url: _Url, typed: str) -> str:
    return platform.parse_name(platform, _one_profile_segment(platform, url, typed), typed)


def _at(value: str) -> str:
    return "@" + value


# ---------------------------------------------------------------------------
# the parsers of platforms that the generic ones above do not fit


def _x_url(platform: Platform, url: _Url, typed: str) -> str:
    if not url.segments and url.fragment.startswith("!/"):   # old twitter.com/#!/name links
        url = dataclasses.replace(url, segments=url.fragment[2:].strip("/").split("/"), query="", fragment="")
    return _handle_url(platform, url, typed)


def _facebook(platform: Platform, text: str, typed: str) -> str:
    """``username`` (dots removed) or ``id:<digits>``.

    Facebook documents that dots "don't count as part of a username", so
    facebook.com/dana.smith and facebook.com/danasmith are one profile and we
    drop dots, as for Gmail. A purely numeric name is a profile id.
    """
    name = text.removeprefix("@").lower()
    if name.startswith("id:"):
        name = name[3:]
        if not re.fullmatch(r"[0-9]{1,20}", name):
            raise _bad_handle(platform, typed, _("a profile id is digits only"))
    if re.fullmatch(r"[0-9]{1,20}", name):
        return f"id:{int(name)}"
    if not re.fullmatch(r"[a-z0-9.]+", name):
        raise _bad_handle(platform, typed, platform.rule)
    name = name.replace(".", "")
    if not 5 <= len(name) <= 50:
        raise _bad_handle(platform, typed, platform.rule)
    if name.isdigit():
        raise _bad_handle(platform, typed, _("dotted digits are ambiguous; copy the profile link instead"))
    return name


def _facebook_url(platform: Platform, url: _Url, typed: str) -> str:
    segs = url.segments
    if segs and segs[0].lower() == "profile.php":
        ids = parse_qs(url.query).get("id", [])
        if len(ids) != 1 or not re.fullmatch(r"[0-9]{1,20}", ids[0]):
            raise _not_profile(platform, typed, _("a profile.php page without a numeric id="))
        return f"id:{int(ids[0])}"
    if segs and segs[0].lower() == "people":
        if len(segs) >= 3 and re.fullmatch(r"[0-9]{1,20}", segs[2]):
            return f"id:{int(segs[2])}"
        raise _not_profile(platform, typed)
    return _handle_url(platform, url, typed)


def _facebook_shown(value: str) -> str:
    return f"profile id {value[3:]}" if value.startswith("id:") else _at(value)


def _linkedin(platform: Platform, text: str, typed: str) -> str:
    """The ``/in/<slug>`` part, lower-cased.

    Auto-generated slugs may contain accented letters (percent-encoded in
    links), so letters are not limited to ASCII; the result must be stable
    under NFKC + lower-casing so a canonical value re-normalises to itself.
    """
    name = text.removeprefix("@")
    low = name.lower()
    if low.startswith("/"):
        name, low = name[1:], low[1:]
    if low.startswith("in/"):
        name = name[3:].rstrip("/")
    slug = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).lower())
    if (slug != unicodedata.normalize("NFKC", slug.lower())
            or not re.fullmatch(r"[^\W_](?:[^\W_]|-){2,99}", slug)):
        raise _bad_handle(platform, typed, platform.rule)
    return slug


def _linkedin_url(platform: Platform, url: _Url, typed: str) -> str:
    segs = url.segments
    if not segs:
        raise _not_profile(platform, typed, _("the home page"))
    first = segs[0].lower()
    if first == "pub":
        raise _not_profile(platform, typed, _("an old-style /pub/ page; open it and copy the new /in/ address"))
    if first == "posts" or first == "feed":
        raise _not_profile(platform, typed, _("a post"))
    if first != "in" or len(segs) < 2:
        raise _not_profile(platform, typed, _("a company, school or other page that is not a person"))
    if len(segs) > 2 and segs[2].lower() not in platform.tabs:
        raise _not_profile(platform, typed)
    return platform.parse_name(platform, segs[1], typed)


def _tiktok_url(platform: Platform, url: _Url, typed: str) -> str:
    segs = url.segments
    if not segs:
        raise _not_profile(platform, typed, _("the home page"))
    if not segs[0].startswith("@"):
        raise _not_profile(platform, typed)
    if len(segs) > 1:
        raise _not_profile(platform, typed, _("a single video"))
    return platform.parse_name(platform, segs[0], typed)


def _github_url(platform: Platform, url: _Url, typed: str) -> str:
    segs = url.segments
    if len(segs) >= 2 and segs[0].lower() not in platform.reserved:
        raise _not_profile(platform, typed, _("a repository or page"))
    return _handle_url(platform, url, typed)


_YT_CHANNEL = re.compile(r"UC[A-Za-z0-9_-]{22}")


def _youtube(platform: Platform, text: str, typed: str) -> str:
    """``@handle`` (lower-cased) or a channel id ``UC…`` (case kept).

    Handles are case-insensitive; channel ids are case-sensitive base64-like
    strings. A bare value without @ that has exactly the channel-id shape is
    read as an id; canonical handles always carry their @, so the two never
    collide.
    """
    if not text.startswith("@") and _YT_CHANNEL.fullmatch(text):
        return text
    return "@" + _handle(platform, text, typed)


def _youtube_url(platform: Platform, url: _Url, typed: str) -> str:
    segs = url.segments
    if not segs:
        raise _not_profile(platform, typed, _("the home page"))
    first, low = segs[0], segs[0].lower()
    if low in {"c", "user"}:
        raise _not_profile(platform, typed, _("an old-style /c/ or /user/ address; open it and copy the address "
                                              "with @handle or /channel/UC..."))
    if low in {"watch", "shorts", "live", "embed", "v"}:
        raise _not_profile(platform, typed, _("a single video"))
    if first.startswith("@"):
        name, rest = first, segs[1:]
    elif low == "channel" and len(segs) >= 2:
        name, rest = segs[1], segs[2:]
        if not _YT_CHANNEL.fullmatch(name):
            raise _bad_handle(platform, typed, _("a channel id is UC followed by 22 letters, digits, - or _"))
    else:
        raise _not_profile(platform, typed)
    if len(rest) > 1 or (rest and rest[0].lower() not in platform.tabs):
        raise _not_profile(platform, typed)
    return platform.parse_name(platform, name, typed)


def _youtube_shown(value: str) -> str:
    return value if value.startswith("@") else f"channel {value}"


def _reddit(platform: Platform, text: str, typed: str) -> str:
    name = text.removeprefix("/")
    low = name.lower()
    for prefix in ("u/", "user/"):
        if low.startswith(prefix):
            name = name[len(prefix):].rstrip("/")
            break
    return _handle(platform, name, typed)


def _reddit_url(platform: Platform, url: _Url, typed: str) -> str:
    segs = url.segments
    if not segs:
        raise _not_profile(platform, typed, _("the home page"))
    first = segs[0].lower()
    if first == "r":
        raise _not_profile(platform, typed, _("a subreddit or post"))
    if first not in {"u", "user"} or len(segs) < 2:
        raise _not_profile(platform, typed)
    if len(segs) > 3 or (len(segs) == 3 and segs[2].lower() not in platform.tabs):
        raise _not_profile(platform, typed)
    return platform.parse_name(platform, segs[1], typed)


def _snapchat_url(platform: Platform, url: _Url, typed: str) -> str:
    segs = url.segments
    if len(segs) == 2 and segs[0].lower() == "add":
        return platform.parse_name(platform, segs[1], typed)
    if len(segs) == 1 and segs[0].startswith("@"):
        return platform.parse_name(platform, segs[0], typed)
    raise _not_profile(platform, typed)


def _telegram_url(platform: Platform, url: _Url, typed: str) -> str:
    segs = url.segments
    if not segs:
        raise _not_profile(platform, typed, _("the home page"))
    first = segs[0].lower()
    if first.startswith("+") or first == "joinchat":
        raise _not_profile(platform, typed, _("a group invite"))
    if first in platform.reserved:
        raise _not_profile(platform, typed)
    if len(segs) > 1:
        raise _not_profile(platform, typed, _("a single message"))
    return platform.parse_name(platform, segs[0], typed)


_MD_USER = re.compile(r"[a-z0-9_](?:[a-z0-9_.-]{0,62}[a-z0-9_])?")


def _mastodon(platform: Platform, text: str, typed: str) -> str:
    """``user@instance``: user lower-cased, instance as a punycode domain.

    The instance is part of the identity (alice@a.social and alice@b.social
    are different people), so it is required, never assumed.
    """
    name = text.removeprefix("@")
    if name.count("@") != 1:
        raise _bad_handle(platform, typed, platform.rule)
    user, host = name.split("@")
    user = user.lower()
    if not _MD_USER.fullmatch(user):
        raise _bad_handle(platform, typed, _("the name is letters, digits and underscores; {rule}",
                                             rule=_(platform.rule)))
    host = _domain(host, lambda why: _bad_handle(platform, typed, _("the instance is not a domain ({why})", why=why)))
    return f"{user}@{host}"


def _mastodon_url(platform: Platform, url: _Url, typed: str) -> str:
    segs = url.segments
    if segs and segs[0].startswith("@"):
        if len(segs) > 2 or (len(segs) == 2 and segs[1].lower() not in platform.tabs):
            raise _not_profile(platform, typed, _("a single post") if len(segs) == 2 else _("a page"))
        name = segs[0]
        return platform.parse_name(platform, name if name.count("@") == 2 else f"{name}@{url.host}", typed)
    if len(segs) == 2 and segs[0].lower() == "users":
        return platform.parse_name(platform, f"{segs[1]}@{url.host}", typed)
    raise _not_profile(platform, typed)


_BS_RESERVED_TLDS = frozenset({"alt", "arpa", "example", "internal", "invalid", "local", "localhost", "onion"})


def _bluesky(platform: Platform, text: str, typed: str) -> str:
    """A domain handle (lower-cased, punycode) or a ``did:plc:``/``did:web:`` id.

    A handle without a dot is refused rather than completed with
    ``.bsky.social``: custom-domain handles exist, so completing would guess.
    """
    rule = _(platform.rule)
    name = text.removeprefix("@")
    if name.lower().startswith("did:"):
        if re.fullmatch(r"did:plc:[a-z2-7]{24}", name):
            return name
        if name.startswith("did:web:"):
            return "did:web:" + _domain(name[8:], lambda why: _bad_handle(platform, typed, why))
        raise _bad_handle(platform, typed, _("a DID looks like did:plc: followed by 24 lower-case letters/digits"))
    if "." not in name:
        raise _bad_handle(platform, typed, _("{rule}; include the part after the dot", rule=rule))
    handle = _domain(name, lambda why: _bad_handle(platform, typed, _("{rule} ({why})", rule=rule, why=why)))
    if handle.rsplit(".", 1)[1] in _BS_RESERVED_TLDS:
        raise _bad_handle(platform, typed, rule)
    return handle


def _bluesky_url(platform: Platform, url: _Url, typed: str) -> str:
    segs = url.segments
    if len(segs) >= 2 and segs[0].lower() == "profile":
        if len(segs) == 2:
            return platform.parse_name(platform, segs[1], typed)
        if segs[2].lower() == "post":
            raise _not_profile(platform, typed, _("a single post"))
    raise _not_profile(platform, typed)


def _bluesky_shown(value: str) -> str:
    return value if value.startswith("did:") else _at(value)


def _phone_shown(value: str) -> str:
    number = phonenumbers.parse(value, None)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


# ---------------------------------------------------------------------------
# the registry

NameParser = Callable[["Platform", str, str], str]
"""``(platform, text, typed) -> value`` for a name typed without a link; ``typed`` is for messages."""
UrlParser = Callable[["Platform", _Url, str], str]
"""``(platform, url, typed) -> value`` for a link to one of the platform's hosts."""


@dataclass(frozen=True)
class Platform:
    """Everything that differs between kinds of identifier, in one place.

    The fields up to ``posts`` are plain data: the web SDK holds the same
    values and the interop vectors check that it does, because a host or a
    reserved path known on one side only would make a browser and a CLI
    reporter normalise the same link differently. The callables are the code
    a port mirrors by hand; email and phone are not profiles, so theirs are
    never called (``normalise`` parses those two itself).
    """

    kind: str
    """The canonical prefix; part of every OPRF input, so never renamed."""
    label: str
    """The platform's name in refusals and :meth:`Identifier.display`."""
    example: str
    """A well-formed profile address, offered when a link is refused."""
    menu_label: str
    """The name in a form's list of kinds, where a bare "email" would read oddly."""
    hint: str
    """How to type it, under a form's input field."""
    menu_position: int
    """Place in a form's list of kinds: the most named first, not :data:`KINDS` order."""
    aliases: tuple[str, ...] = ()
    """Other prefixes people write (``twitter:``, ``mailto:``); read as this kind."""
    hosts: tuple[str, ...] = ()
    """Hosts of profile links, without ``www.``/``m.``/``mobile.``: links there are detected without a prefix."""
    short_hosts: tuple[str, ...] = ()
    """Link shorteners: where they lead is unknown offline, so their links are refused."""
    country_subdomains: bool = False
    """Two-letter subdomains of the hosts (``uk.linkedin.com``) are the same site."""
    pattern: str = ""
    """A valid name (after ``@`` is dropped and case folded), for the parsers that take one."""
    rule: str = ""
    """What a valid name looks like, in words, for refusals."""
    reserved: frozenset[str] = frozenset()
    """First path segments that are the site's own pages, not people."""
    tabs: frozenset[str] = frozenset()
    """Path segments after the name that still show the same profile."""
    posts: frozenset[str] = frozenset()
    """First path segments that introduce a single post."""
    parse_name: NameParser = _handle
    parse_url: UrlParser = _handle_url
    show: Callable[[str], str] = _at
    """The value as :meth:`Identifier.display` shows it after the label."""


PLATFORMS: tuple[Platform, ...] = (
    Platform(
        kind="email", label="email", example="name@example.com", menu_label="Email address",
        hint="name@example.com", menu_position=1, aliases=("mailto",), show=lambda value: value),
    Platform(
        kind="phone", label="phone", example="+44 20 7946 0958", menu_label="Phone number",
        hint="020 7946 0958, or +44 20 7946 0958 with the country code", menu_position=2, aliases=("tel",),
        show=_phone_shown),
    Platform(
        kind="x", label="X (Twitter)", example="https://x.com/name", menu_label="X (Twitter)",
        hint="@name or x.com/name", menu_position=5, aliases=("twitter",), hosts=("x.com", "twitter.com"),
        short_hosts=("t.co",), pattern=r"[a-z0-9_]{1,15}", rule=N_("1-15 letters, digits or underscores"),
        reserved=frozenset({"home", "explore", "notifications", "messages", "search", "settings", "i", "intent",
                            "share", "hashtag", "login", "logout", "signup", "tos", "privacy", "compose", "jobs",
                            "about", "download", "account", "lists", "communities", "topics",
                            "search-advanced"}),
        tabs=frozenset({"with_replies", "media", "likes", "highlights", "articles", "followers", "following",
                        "verified_followers"}),
        parse_url=_x_url),
    Platform(
        kind="instagram", label="Instagram", example="https://instagram.com/name", menu_label="Instagram",
        hint="@name or instagram.com/name", menu_position=3, hosts=("instagram.com", "instagr.am"),
        pattern=r"[a-z0-9._]{1,30}", rule=N_("1-30 letters, digits, dots or underscores"),
        reserved=frozenset({"stories", "explore", "accounts", "direct", "about", "developer", "legal", "web",
                            "challenge", "emails", "session", "api", "directory"}),
        tabs=frozenset({"tagged", "reels", "saved", "guides"}),
        posts=frozenset({"p", "reel", "reels", "tv"})),
    Platform(
        kind="facebook", label="Facebook", example="https://facebook.com/name", menu_label="Facebook",
        hint="facebook.com/name", menu_position=4,
        hosts=("facebook.com", "fb.com", "web.facebook.com", "touch.facebook.com", "mbasic.facebook.com"),
        short_hosts=("fb.me", "fb.watch"),
        rule=N_("at least 5 letters or digits (dots are ignored), or a numeric profile id"),
        reserved=frozenset({"groups", "pages", "pg", "events", "watch", "marketplace", "gaming", "photo.php",
                            "photo", "photos", "story.php", "permalink.php", "hashtag", "login", "share",
                            "sharer", "sharer.php", "reel", "reels", "stories", "help", "settings", "messages",
                            "notifications", "friends", "bookmarks", "search", "places", "fundraisers", "media",
                            "plugins", "dialog", "l.php", "home.php", "business", "privacy", "policies",
                            "legal", "video.php", "videos", "posts"}),
        tabs=frozenset({"about", "photos", "friends", "videos", "posts", "reels", "followers", "following"}),
        parse_name=_facebook, parse_url=_facebook_url, show=_facebook_shown),
    Platform(
        kind="linkedin", label="LinkedIn", example="https://linkedin.com/in/name", menu_label="LinkedIn",
        hint="linkedin.com/in/name", menu_position=6, hosts=("linkedin.com",), short_hosts=("lnkd.in",),
        country_subdomains=True, rule=N_("3-100 letters, digits or hyphens, as in linkedin.com/in/name"),
        tabs=frozenset({"details", "recent-activity", "overlay"}),
        parse_name=_linkedin, parse_url=_linkedin_url, show=lambda value: f"in/{value}"),
    Platform(
        kind="tiktok", label="TikTok", example="https://tiktok.com/@name", menu_label="TikTok", hint="@name",
        menu_position=7, hosts=("tiktok.com",), short_hosts=("vm.tiktok.com", "vt.tiktok.com"),
        pattern=r"[a-z0-9._]{2,24}", rule=N_("2-24 letters, digits, dots or underscores"), parse_url=_tiktok_url),
    Platform(
        kind="github", label="GitHub", example="https://github.com/name", menu_label="GitHub", hint="name",
        menu_position=12, hosts=("github.com",), pattern=r"[a-z0-9][a-z0-9-]{0,38}",
        rule=N_("1-39 letters, digits or hyphens, not starting with a hyphen"),
        reserved=frozenset({"orgs", "settings", "marketplace", "explore", "topics", "sponsors", "login",
                            "features", "pricing", "about", "notifications", "pulls", "issues", "search", "new",
                            "organizations", "enterprise", "collections", "trending", "apps", "site",
                            "security", "contact", "team", "readme", "codespaces", "join", "signup",
                            "logout"}),
        parse_url=_github_url),
    Platform(
        kind="youtube", label="YouTube", example="https://youtube.com/@name", menu_label="YouTube", hint="@name",
        menu_position=10, hosts=("youtube.com",), short_hosts=("youtu.be",), pattern=r"[a-z0-9._-]{3,30}",
        rule=N_("an @handle of 3-30 letters, digits, dots, hyphens or underscores, or a channel id UC..."),
        tabs=frozenset({"videos", "shorts", "streams", "playlists", "community", "about", "featured", "live",
                        "podcasts", "posts", "releases", "store", "courses"}),
        parse_name=_youtube, parse_url=_youtube_url, show=_youtube_shown),
    Platform(
        kind="reddit", label="Reddit", example="https://reddit.com/user/name", menu_label="Reddit", hint="u/name",
        menu_position=11, hosts=("reddit.com", "old.reddit.com", "new.reddit.com", "np.reddit.com"),
        short_hosts=("redd.it",), pattern=r"[a-z0-9_-]{3,20}",
        rule=N_("3-20 letters, digits, hyphens or underscores, as in u/name"),
        tabs=frozenset({"submitted", "comments", "overview", "posts", "about"}),
        parse_name=_reddit, parse_url=_reddit_url, show=lambda value: f"u/{value}"),
    Platform(
        kind="snapchat", label="Snapchat", example="https://snapchat.com/add/name", menu_label="Snapchat",
        hint="name", menu_position=8, hosts=("snapchat.com",), pattern=r"[a-z][a-z0-9._-]{2,14}",
        rule=N_("3-15 letters, digits, dots, hyphens or underscores, starting with a letter"),
        parse_url=_snapchat_url),
    Platform(
        kind="telegram", label="Telegram", example="https://t.me/name", menu_label="Telegram",
        hint="@name or t.me/name", menu_position=9, hosts=("t.me", "telegram.me", "telegram.dog"),
        pattern=r"[a-z][a-z0-9_]{4,31}", rule=N_("5-32 letters, digits or underscores, starting with a letter"),
        reserved=frozenset({"addstickers", "addemoji", "share", "proxy", "socks", "iv", "addtheme", "setlanguage",
                            "c", "s", "login", "confirmphone", "boost", "bg", "invoice"}),
        parse_url=_telegram_url),
    Platform(
        kind="mastodon", label="Mastodon", example="@name@mastodon.social", menu_label="Mastodon",
        hint="@name@mastodon.social", menu_position=13,
        rule=N_("write it as @name@instance, e.g. @alice@mastodon.social"),
        tabs=frozenset({"with_replies", "media", "following", "followers", "tagged"}),
        parse_name=_mastodon, parse_url=_mastodon_url),
    Platform(
        kind="bluesky", label="Bluesky", example="https://bsky.app/profile/name.bsky.social", menu_label="Bluesky",
        hint="name.bsky.social", menu_position=14, aliases=("bsky",), hosts=("bsky.app",),
        rule=N_("a full handle such as name.bsky.social or a custom domain"),
        parse_name=_bluesky, parse_url=_bluesky_url, show=_bluesky_shown),
)
"""Every kind of identifier we can name someone by; the order is :data:`KINDS`' (and messages')."""


def _index(platforms: tuple[Platform, ...], names: Callable[[Platform], tuple[str, ...]]) -> dict[str, str]:
    """Name -> kind; a name claimed twice is a mistake in the registry, caught at import."""
    out: dict[str, str] = {}
    for p in platforms:
        for name in names(p):
            if name in out:
                raise ValueError(f"{name!r} belongs to both {out[name]} and {p.kind}")
            out[name] = p.kind
    return out


_KIND_ALIASES = _index(PLATFORMS, lambda p: (p.kind, *p.aliases))
"""Every prefix read as a kind, the kinds' own names included (so an alias cannot shadow a kind)."""
_HOSTS = _index(PLATFORMS, lambda p: p.hosts)
_SHORT_HOSTS = frozenset(_index(PLATFORMS, lambda p: p.short_hosts))
_COUNTRY_MIRRORED = {host: p.kind for p in PLATFORMS if p.country_subdomains for host in p.hosts}

PLATFORMS_BY_KIND: Mapping[str, Platform] = MappingProxyType({p.kind: p for p in PLATFORMS})

KINDS: tuple[str, ...] = tuple(PLATFORMS_BY_KIND)
"""Every kind of identifier we can name someone by, in display order."""

PHONE_EXAMPLE = PLATFORMS_BY_KIND["phone"].example
