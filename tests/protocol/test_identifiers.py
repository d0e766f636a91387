"""Identifier normalisation: same person typed differently -> same bytes; junk -> clear refusal."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consilience.errors import InvalidInput
from consilience.protocol.identifiers import KINDS, MAX_LENGTH, Identifier, normalise, normalise_many


def canon(raw: str, kind: str | None = None, region: str | None = None) -> str:
    return normalise(raw, kind, default_region=region).canonical


def refused(raw: str, kind: str | None = None, region: str | None = None) -> str:
    with pytest.raises(InvalidInput) as info:
        normalise(raw, kind, default_region=region)
    return str(info.value)


# ---------------------------------------------------------------------------
# same person, typed differently

SAME_PERSON = [
    ("email:dana.smith@example.com", [
        "Dana.Smith@Example.com", "dana.smith@example.com", "DANA.SMITH@EXAMPLE.COM",
        "  dana.smith@example.com\n", "email:Dana.Smith@example.com", "mailto:dana.smith@example.com",
        "dana.smith@example.com.", "ｄａｎａ.smith@example.com",
    ]),
    ("email:danasmith@gmail.com", [
        "DanaSmith@gmail.com", "dana.smith@gmail.com", "d.a.n.a.smith+work@gmail.com",
        "danasmith+x+y@googlemail.com", "Dana.Smith@GoogleMail.com",
    ]),
    ("email:ana@xn--bcher-kva.example", ["ana@bücher.example", "ana@BÜCHER.example", "ana@xn--bcher-kva.example"]),
    ("phone:+442079460958", [
        "+44 20 7946 0958", "+442079460958", "+44 (20) 7946-0958", "+44.20.7946.0958",
        "phone:+44 20 7946 0958", "tel:+44-20-7946-0958", "＋４４ ２０ ７９４６ ０９５８",
    ]),
    ("x:danasmith_", [
        "https://twitter.com/DanaSmith_", "x.com/danasmith_", "https://x.com/DanaSmith_/",
        "http://www.twitter.com/danasmith_?lang=en", "https://mobile.twitter.com/DanaSmith_#top",
        "x:@DanaSmith_", "twitter:danasmith_", "X: @danasmith_", "https://twitter.com/#!/DanaSmith_",
        "https://x.com/DanaSmith_/with_replies", "m.twitter.com/danasmith_",
    ]),
    ("instagram:dana.smith", [
        "instagram:@Dana.Smith", "instagram:dana.smith", "https://www.instagram.com/dana.smith/",
        "instagram.com/Dana.Smith?igshid=abc123", "https://instagr.am/dana.smith", "Instagram: @dana.smith",
    ]),
    ("facebook:danasmith", [
        "facebook.com/Dana.Smith", "https://www.facebook.com/danasmith/", "https://m.facebook.com/dana.smith?ref=bookmarks",
        "facebook:dana.smith", "fb.com/danasmith", "https://web.facebook.com/danasmith/about",
    ]),
    ("facebook:id:100012345", [
        "https://www.facebook.com/profile.php?id=100012345", "m.facebook.com/profile.php?id=100012345&sk=about",
        "facebook:100012345", "facebook:id:100012345", "https://www.facebook.com/people/Dana-Smith/100012345/",
    ]),
    ("linkedin:dana-smith-1a2b3c", [
        "https://www.linkedin.com/in/dana-smith-1a2b3c/", "linkedin.com/in/Dana-Smith-1a2b3c",
        "linkedin:dana-smith-1a2b3c", "linkedin:in/dana-smith-1a2b3c",
        "https://uk.linkedin.com/in/dana-smith-1a2b3c",
        "https://www.linkedin.com/in/dana-smith-1a2b3c/details/experience/",
    ]),
    ("linkedin:josé-garcía", [
        "https://www.linkedin.com/in/jos%C3%A9-garc%C3%ADa/", "linkedin:José-García",
        "linkedin:jose\u0301-garci\u0301a",
    ]),
    ("tiktok:dana.smith", ["tiktok:@Dana.Smith", "https://www.tiktok.com/@dana.smith?lang=en",
                           "tiktok.com/@DANA.SMITH/"]),
    ("github:octo-cat", ["github:@Octo-Cat", "https://github.com/octo-cat", "github.com/Octo-Cat?tab=repositories"]),
    ("youtube:@danasmith", ["youtube:@DanaSmith", "https://www.youtube.com/@DanaSmith",
                            "m.youtube.com/@danasmith/videos"]),
    ("youtube:UCa1b2C3d4E5f6G7h8I9j0kL", [
        "youtube:UCa1b2C3d4E5f6G7h8I9j0kL", "https://www.youtube.com/channel/UCa1b2C3d4E5f6G7h8I9j0kL",
        "youtube.com/channel/UCa1b2C3d4E5f6G7h8I9j0kL/featured",
    ]),
    ("reddit:dana_smith", [
        "reddit:u/Dana_Smith", "reddit:/u/dana_smith", "reddit:dana_smith", "https://www.reddit.com/user/Dana_Smith/",
        "old.reddit.com/u/dana_smith", "https://reddit.com/user/dana_smith/submitted",
    ]),
    ("snapchat:danasmith", ["snapchat:@DanaSmith", "https://www.snapchat.com/add/danasmith",
                            "snapchat.com/@DanaSmith"]),
    ("telegram:danasmith", ["telegram:@DanaSmith", "https://t.me/danasmith", "telegram.me/DanaSmith",
                            "t.me/danasmith/"]),
    ("mastodon:dana@mastodon.social", [
        "@Dana@Mastodon.Social", "mastodon:dana@mastodon.social", "mastodon:@dana@mastodon.social",
        "mastodon:https://mastodon.social/@Dana", "mastodon:https://mastodon.social/users/dana",
        "mastodon:https://fosstodon.org/@dana@mastodon.social",
    ]),
    ("bluesky:dana.bsky.social", [
        "dana.bsky.social", "@Dana.bsky.social", "bluesky:dana.bsky.social", "bsky:@dana.bsky.social",
        "https://bsky.app/profile/Dana.bsky.social",
    ]),
    ("bluesky:danasmith.com", ["bluesky:DanaSmith.com", "https://bsky.app/profile/danasmith.com"]),
]


@pytest.mark.parametrize(("expected", "typings"), SAME_PERSON, ids=[e for e, _ in SAME_PERSON])
def test_same_person_typed_differently_gets_identical_bytes(expected: str, typings: list[str]) -> None:
    results = [normalise(t) for t in typings]
    assert [r.canonical for r in results] == [expected] * len(typings)
    assert {r.oprf_input for r in results} == {expected.encode("utf-8")}


def test_national_phone_numbers_need_and_use_the_region() -> None:
    assert canon("020 7946 0958", region="GB") == "phone:+442079460958"
    assert canon("0044 20 7946 0958", region="gb") == "phone:+442079460958"
    assert canon("(201) 555-0123", region="US") == "phone:+12015550123"
    assert canon("+1 201-555-0123", region="GB") == "phone:+12015550123"  # explicit + wins over region
    assert "country code" in refused("020 7946 0958", "phone")
    # the same digits mean different numbers in different regions: never merged
    assert canon("06 12 34 56 78", region="FR") == "phone:+33612345678"
    assert canon("06 12 34 56 78", region="NL") == "phone:+31612345678"


@pytest.mark.parametrize("region", ["GB", "US", "DE", "FR", "IN", "BR", "JP", "AU", "NG", "IT", "MX", "ZA"])
def test_every_formatting_of_an_example_number_agrees(region: str) -> None:
    number = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    assert number is not None
    f = phonenumbers.PhoneNumberFormat
    e164 = phonenumbers.format_number(number, f.E164)
    forms = [phonenumbers.format_number(number, f.INTERNATIONAL), e164]
    national = phonenumbers.format_number(number, f.NATIONAL)
    assert {canon(x) for x in forms} == {f"phone:{e164}"}
    assert canon(national, region=region) == f"phone:{e164}"


def test_different_people_stay_apart() -> None:
    # generic providers: dots and +tags are significant
    assert canon("dana.smith@example.com") != canon("danasmith@example.com")
    assert canon("dana+work@example.com") != canon("dana@example.com")
    # Google Workspace custom domains are not Gmail
    assert canon("d.ana@company.com") != canon("dana@company.com")
    # the kind keeps platforms apart
    assert canon("x:dana") != canon("instagram:dana")
    assert canon("github:dana") != canon("x:dana")
    # same Mastodon user name on different instances
    assert canon("@dana@a.social") != canon("@dana@b.social")
    # YouTube channel ids are case-sensitive, handles are not
    assert canon("youtube:UCa1b2C3d4E5f6G7h8I9j0kL") != canon("youtube:UCA1B2C3D4E5F6G7H8I9J0KL")
    assert canon("youtube:@UCa1b2C3d4E5f6G7h8I9j0kL") == canon("youtube:@uca1b2c3d4e5f6g7h8i9j0kl")
    assert canon("youtube:@UCa1b2C3d4E5f6G7h8I9j0kL") != canon("youtube:UCa1b2C3d4E5f6G7h8I9j0kL")
    # a Facebook numeric id is not a username
    assert canon("facebook:id:12345") == "facebook:id:12345"
    assert canon("facebook:danas") == "facebook:danas"


# ---------------------------------------------------------------------------
# refusals, each with a message a reporter can act on

REFUSALS = [
    # (input, kind, fragment expected in the message)
    ("", None, "empty"),
    ("   \n", None, "empty"),
    ("dana\u200b@example.com", None, "U+200B"),
    ("dana@exa\x07mple.com", None, "control"),
    ("\ufeffdana@example.com", None, "U+FEFF"),
    ("a" * (MAX_LENGTH + 1), None, f"longer than {MAX_LENGTH}"),
    ("@dana", None, "prefix it with its kind"),
    ("dana", None, "prefix it with its kind"),
    ("did:plc:abc", None, "prefix it with its kind"),
    ("rocket:dana", None, "prefix it with its kind"),
    ("dana", "myspace", "unknown identifier kind"),
    ("instagram:", None, "nothing follows"),
    ("instagram:@dana", "x", "remove the prefix"),
    # email
    ("dana smith@example.com", None, "contains a space"),
    ("Dana <dana@example.com>", None, "contains a space"),
    ("dana@@example.com", None, "exactly one @"),
    ("@example.com", "email", "nothing before the @"),
    ("dana@", None, "nothing after the @"),
    ("dana@localhost", None, "needs a dot"),
    ("dana@example..com", None, "empty part"),
    (".dana@example.com", None, "first, last or doubled"),
    ("da..na@example.com", None, "first, last or doubled"),
    ("d" * 65 + "@example.com", None, "longer than 64"),
    ('"dana"@example.com', None, "not allowed before the @"),
    ("dana@exa_mple.com", None, "not a valid domain label"),
    ("dana@-example.com", None, "not a valid domain label"),
    ("dana@10.0.0.1", None, "not an IP address"),
    ("dana@straße.de", None, "xn--"),
    ("dana@xn--zzzz.com", None, "internationalised"),
    ("josé@example.com", None, "unaccented"),
    ("+tag@gmail.com", None, "Gmail"),
    # phone
    ("+1 555", None, "not a valid phone number; include the country code, e.g. +44 20 7946 0958"),
    ("+44 20 7946 095", None, "not a valid phone number"),
    ("020 7946 0958", "phone", "no country code"),
    ("+1-800-FLOWERS", "phone", "only digits"),
    ("+44 20 7946 0958 ext 12", "phone", "only digits"),
    ("12345", None, "no country code"),
    ("+", "phone", "only digits"),
    ("020 7946 0958", "phone", "no country code"),
    # links to known platforms that are not profiles
    ("x.com/home", None, "not a profile"),
    ("https://x.com", None, "home page"),
    ("https://x.com/dana/status/1234567890", None, "single post"),
    ("https://twitter.com/i/lists/123", None, "not a profile"),
    ("instagram.com/p/CxYz123", None, "single post"),
    ("https://www.instagram.com/reel/abc/", None, "single post"),
    ("instagram.com/explore/tags/cats", None, "not a profile"),
    ("https://www.facebook.com/groups/123456/", None, "not a profile"),
    ("facebook.com/events/123", None, "not a profile"),
    ("facebook.com/dana.smith/posts/pfbid0abc", None, "single post"),
    ("facebook.com/profile.php", None, "numeric id"),
    ("https://www.linkedin.com/company/acme", None, "not a person"),
    ("linkedin.com/posts/dana_activity-123", None, "post"),
    ("linkedin.com/pub/dana-smith/1/2/3", None, "/in/"),
    ("tiktok.com/@dana/video/7234", None, "single video"),
    ("tiktok.com/tag/cats", None, "not a profile"),
    ("https://vm.tiktok.com/ZM123/", None, "shortened link"),
    ("github.com/dana/project", None, "repository"),
    ("github.com/orgs/acme", None, "not a profile"),
    ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", None, "single video"),
    ("youtube.com/c/DanaSmith", None, "/c/"),
    ("youtube.com/user/DanaSmith", None, "/c/"),
    ("https://youtu.be/dQw4w9WgXcQ", None, "shortened link"),
    ("reddit.com/r/python", None, "subreddit"),
    ("reddit.com/user/dana/comments/abc/title", None, "not a profile"),
    ("t.me/+AbCdEf123", None, "invite"),
    ("t.me/joinchat/AbCdEf", None, "invite"),
    ("t.me/danasmith/42", None, "single message"),
    ("snapchat.com/discover/news", None, "not a profile"),
    ("bsky.app/profile/dana.bsky.social/post/3k", None, "single post"),
    ("mastodon:https://mastodon.social/@dana/1122334455", None, "single post"),
    ("mastodon:https://mastodon.social/about", None, "not a profile"),
    ("instagram:https://x.com/dana", None, "is a X (Twitter) link, not Instagram"),
    ("https://evil.example/@dana", None, "mastodon:"),
    ("https://example.com/dana", None, "not a link to a platform we recognise"),
    ("ftp://x.com/dana", None, "not a web link"),
    ("https://dana@x.com/dana", None, "user name or port"),
    ("https://x.com:8443/dana", None, "user name or port"),
    ("https://x.com/dana//media", None, "'//'"),
    # bad handles
    ("x:dana_smith_too_long", None, "1-15"),
    ("x:dana-smith", None, "1-15"),
    ("x:dana smith", None, "X (Twitter) name"),
    ("instagram:" + "a" * 31, None, "1-30"),
    ("instagram:dana-smith", None, "1-30"),
    ("github:-dana", None, "not starting with a hyphen"),
    ("github:" + "a" * 40, None, "1-39"),
    ("tiktok:d", None, "2-24"),
    ("reddit:ab", None, "3-20"),
    ("reddit:u/" + "a" * 21, None, "3-20"),
    ("facebook:dana", None, "at least 5"),
    ("facebook:dana_smith", None, "at least 5"),
    ("facebook:123.45", None, "ambiguous"),
    ("facebook:id:12a", None, "digits only"),
    ("linkedin:ab", None, "3-100"),
    ("linkedin:dana_smith", None, "3-100"),
    ("youtube:@ab", None, "3-30"),
    ("youtube.com/channel/notAnId", None, "channel id"),
    ("snapchat:1dana", None, "starting with a letter"),
    ("telegram:dana", None, "5-32"),
    ("telegram:1danas", None, "5-32"),
    ("mastodon:dana", None, "@name@instance"),
    ("mastodon:@dana@localhost", None, "needs a dot"),
    ("mastodon:@da na@mastodon.social", None, "Mastodon name"),
    ("bluesky:dana", None, "include the part after the dot"),
    ("bluesky:dana.local", None, "custom domain"),
    ("bluesky:did:plc:SHOUTY", None, "did:plc:"),
]


@pytest.mark.parametrize(("raw", "kind", "fragment"), REFUSALS, ids=[repr(r)[:50] for r, _, _ in REFUSALS])
def test_refusals_explain_themselves(raw: str, kind: str | None, fragment: str) -> None:
    message = refused(raw, kind)
    assert fragment in message


def test_refusal_messages_quote_the_input_and_escape_unprintables() -> None:
    assert refused("+1 555") == (
        "'+1 555' is not a valid phone number; include the country code, e.g. +44 20 7946 0958")
    message = refused("dana\x1b[31m@example.com")
    assert "\x1b" not in message and "\\u001b" in message
    assert len(refused("x:" + "a" * 200)) < 200  # long input shortened in the message


def test_bad_region_is_refused_even_for_non_phone_input() -> None:
    assert "two-letter country code" in refused("dana@example.com", region="Britain")
    assert "two-letter country code" in refused("020 7946 0958", region="XX")


def test_non_text_is_refused() -> None:
    with pytest.raises(InvalidInput):
        normalise(12345)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        normalise("dana", kind=3)  # type: ignore[arg-type]


def test_explicit_kind_reads_bare_handles_and_links() -> None:
    assert canon("@Dana_Smith", "x") == "x:dana_smith"
    assert canon("Dana_Smith", "twitter") == "x:dana_smith"
    assert canon("https://x.com/Dana_Smith", "x") == "x:dana_smith"
    assert canon("x:Dana_Smith", "x") == "x:dana_smith"
    # a custom-domain Bluesky handle that happens to be a platform's host is not read as a link
    assert canon("github.com", "bluesky") == "bluesky:github.com"
    assert canon("UCa1b2C3d4E5f6G7h8I9j0kL", "youtube") == "youtube:UCa1b2C3d4E5f6G7h8I9j0kL"
    assert canon("DanaSmith", "youtube") == "youtube:@danasmith"


def test_mastodon_instance_host_is_kept_exactly() -> None:
    # m. and www. are stripped for known platforms but belong to a Mastodon instance's name
    assert canon("mastodon:https://m.example.social/@dana") == "mastodon:dana@m.example.social"
    assert canon("mastodon:https://bücher.social/@dana") == "mastodon:dana@xn--bcher-kva.social"


# ---------------------------------------------------------------------------
# Identifier and normalise_many


def test_identifier_fields_and_display() -> None:
    ident = normalise("  https://twitter.com/DanaSmith_ ")
    assert ident == Identifier(kind="x", value="danasmith_", typed="https://twitter.com/DanaSmith_")
    assert ident.canonical == "x:danasmith_"
    assert ident.oprf_input == b"x:danasmith_"
    assert ident.display() == "X (Twitter) @danasmith_"
    assert normalise("+442079460958").display() == "phone +44 20 7946 0958"
    assert normalise("facebook:id:42").display() == "Facebook profile id 42"
    assert normalise("youtube:UCa1b2C3d4E5f6G7h8I9j0kL").display() == "YouTube channel UCa1b2C3d4E5f6G7h8I9j0kL"
    assert normalise("reddit:u/dana_smith").display() == "Reddit u/dana_smith"
    with pytest.raises(AttributeError):
        ident.value = "other"  # type: ignore[misc]


def test_identifier_refuses_unknown_kind_or_spaces() -> None:
    with pytest.raises(InvalidInput):
        Identifier(kind="myspace", value="dana", typed="dana")
    with pytest.raises(InvalidInput):
        Identifier(kind="x", value="da na", typed="da na")


def test_kinds_are_as_documented() -> None:
    assert KINDS == ("email", "phone", "x", "instagram", "facebook", "linkedin", "tiktok", "github",
                     "youtube", "reddit", "snapchat", "telegram", "mastodon", "bluesky")


def test_normalise_many_dedupes_in_order_keeping_first_typing() -> None:
    got = normalise_many(["Dana.Smith@Example.com", "https://twitter.com/DanaSmith_",
                          "dana.smith@example.com", "x.com/danasmith_", "020 7946 0958"], default_region="GB")
    assert [i.canonical for i in got] == ["email:dana.smith@example.com", "x:danasmith_", "phone:+442079460958"]
    assert [i.typed for i in got] == ["Dana.Smith@Example.com", "https://twitter.com/DanaSmith_", "020 7946 0958"]
    assert normalise_many([]) == []


def test_normalise_many_names_the_position_of_the_bad_one() -> None:
    with pytest.raises(InvalidInput, match=r"^identifier 3: '\+1 555' is not a valid phone number"):
        normalise_many(["dana@example.com", "x:dana", "+1 555", "@nobody"])
    with pytest.raises(InvalidInput, match=r"^identifier 1: "):
        normalise_many(["", "dana@example.com"])


# ---------------------------------------------------------------------------
# properties

PROFILE_URLS = [
    "https://x.com/", "https://twitter.com/", "instagram.com/", "https://www.facebook.com/", "m.facebook.com/",
    "https://linkedin.com/in/", "tiktok.com/@", "github.com/", "https://youtube.com/", "youtube.com/@",
    "reddit.com/u/", "snapchat.com/add/", "t.me/", "https://bsky.app/profile/", "https://mastodon.social/@",
    "facebook.com/profile.php?id=", "https://", "mailto:", "tel:+", "+", "@",
]
kinds = st.sampled_from([None, *KINDS, "twitter", "tel", "mailto", "bsky"])
handle_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=40) | st.from_regex(
    r"[A-Za-z0-9_.@/+?#=%:-]{0,40}", fullmatch=True)
fuzzy_inputs = st.one_of(
    st.text(),
    st.builds(lambda prefix, tail: prefix + tail, st.sampled_from(PROFILE_URLS), handle_text),
    st.builds(lambda kind, tail: f"{kind}:{tail}", st.sampled_from(KINDS), handle_text),
    st.emails(),
    st.from_regex(r"\+?[0-9 ()./-]{1,20}", fullmatch=True),
)
plausible_inputs = st.one_of(
    st.builds(lambda prefix, tail: prefix + tail, st.sampled_from(PROFILE_URLS),
              st.from_regex(r"[A-Za-z0-9_.]{1,20}(/|\?x=1)?", fullmatch=True)),
    st.builds(lambda kind, tail: f"{kind}:{tail}", st.sampled_from(KINDS),
              st.from_regex(r"@?[A-Za-z0-9_.-]{1,24}(@[a-z0-9]{1,10}\.[a-z]{2,5})?", fullmatch=True)),
    st.emails(),
    st.builds(lambda name, domain: f"bluesky:{name}.{domain}", st.from_regex(r"[A-Za-z0-9-]{1,12}", fullmatch=True),
              st.sampled_from(["bsky.social", "example.org", "bücher.example", "xn--bcher-kva.example"])),
    st.builds(lambda slug: f"https://www.linkedin.com/in/{slug}/",
              st.text(alphabet=st.characters(categories=["Ll", "Lu", "Lt", "Lo", "Nd", "Mn"]) | st.just("-"),
                      min_size=3, max_size=30)),
    st.builds(lambda r: phonenumbers.format_number(
        phonenumbers.example_number(r), phonenumbers.PhoneNumberFormat.INTERNATIONAL),
        st.sampled_from(sorted(r for r in phonenumbers.SUPPORTED_REGIONS if phonenumbers.example_number(r)))),
)


def try_normalise(raw: str, kind: str | None = None, region: str | None = None) -> Identifier | None:
    try:
        return normalise(raw, kind, default_region=region)
    except InvalidInput:
        return None


def check_canonical(ident: Identifier) -> None:
    canonical = ident.canonical
    assert ident.kind in KINDS
    assert canonical.startswith(ident.kind + ":")
    assert not any(c.isspace() for c in canonical), canonical
    assert canonical.isprintable(), canonical
    # idempotent: the canonical form, fed back in, is a fixed point
    again = normalise(canonical)
    assert again.canonical == canonical
    assert normalise(ident.value, ident.kind).canonical == canonical


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(raw=fuzzy_inputs, kind=kinds, region=st.sampled_from([None, "GB", "US", "DE"]))
def test_arbitrary_text_is_normalised_or_refused_never_crashes(raw: str, kind: str | None, region: str | None) -> None:
    ident = try_normalise(raw, kind, region)   # any exception other than InvalidInput fails the test
    if ident is not None:
        check_canonical(ident)


@settings(max_examples=800, suppress_health_check=[HealthCheck.too_slow])
@given(raw=plausible_inputs)
def test_accepted_inputs_are_idempotent_and_whitespace_free(raw: str) -> None:
    ident = try_normalise(raw)
    if ident is not None:
        check_canonical(ident)


@settings(max_examples=300)
@given(name=st.from_regex(r"[A-Za-z0-9_]{1,15}", fullmatch=True),
       prefix=st.sampled_from(["x:", "x:@", "twitter:", "https://twitter.com/", "http://www.x.com/",
                               "x.com/", "https://mobile.twitter.com/"]),
       suffix=st.sampled_from(["", "/", "?s=20", "#x", "/media"]))
def test_every_x_spelling_of_a_handle_agrees(name: str, prefix: str, suffix: str) -> None:
    if prefix.startswith("x:") or prefix == "twitter:":
        suffix = ""
    if name.lower() in {"home", "explore", "notifications", "messages", "search", "settings", "i", "intent",
                        "share", "hashtag", "login", "logout", "signup", "tos", "privacy", "compose", "jobs",
                        "about", "download", "account", "lists", "communities", "topics"} and "/" in prefix:
        return
    assert canon(prefix + name + suffix) == f"x:{name.lower()}"


@settings(max_examples=300)
@given(local=st.from_regex(r"[a-z0-9]{1,10}(\.[a-z0-9]{1,10}){0,2}", fullmatch=True),
       tag=st.from_regex(r"(\+[a-z0-9]{0,8})?", fullmatch=True),
       domain=st.sampled_from(["gmail.com", "googlemail.com", "GMAIL.COM"]))
def test_gmail_dots_and_tags_fold(local: str, tag: str, domain: str) -> None:
    assert canon(f"{local.upper()}{tag}@{domain}") == f"email:{local.replace('.', '')}@gmail.com"


@settings(max_examples=300)
@given(raw=st.text(min_size=1, max_size=30))
def test_inputs_over_the_limit_are_refused(raw: str) -> None:
    long = (raw * (MAX_LENGTH // len(raw) + 2))[: MAX_LENGTH + 1 + len(raw)]
    if len(long.strip()) > MAX_LENGTH:
        with pytest.raises(InvalidInput):
            normalise(long)
