"""Text blocklists: normalisation, pattern parsing, the Aho-Corasick index against brute force,
text banks through the Curator and the Moderator, and bank scopes."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import synthetic_photo, to_bytes
from shieldwall.domain import (
    BankKind,
    EntryExistsError,
    EntryNotFoundError,
    EntryStatus,
    InvalidArgumentError,
    TextKind,
    Verdict,
)
from shieldwall.engine import Runtime
from shieldwall.exchange import BankFileFormat
from shieldwall.index import TextIndex, TextKey
from shieldwall.signals import TextQuery, parse_pattern, skeleton

ZWSP, ZWJ, SOFT_HYPHEN = "\u200b", "\u200d", "\u00ad"
CYRILLIC = {"a": "\u0430", "o": "\u043e", "e": "\u0435", "p": "\u0440", "c": "\u0441"}


def found(pattern: str, text: str, kind: TextKind | None = None) -> bool:
    parsed = parse_pattern(pattern, kind)
    index = TextIndex()
    index.add([TextKey(1, parsed.words, parsed.squashed)])
    query = TextQuery.of(text)
    return index.search(query.words, query.squashed) == {1}


@pytest.mark.parametrize(
    "text",
    [
        "join @nudify_bot now",
        "t.me/nudify_bot",
        "https://t.me/s/Nudify_Bot/",
        "NUDIFY_BOT",
        f"n{ZWSP}u{ZWJ}d{SOFT_HYPHEN}ify_bot",
        "ｎｕｄｉｆｙ＿ｂｏｔ",  # fullwidth  # noqa: RUF001
        "\U0001d427\U0001d42e\U0001d41d\U0001d422\U0001d41f\U0001d432 bot",  # mathematical bold
        f"nud{CYRILLIC['o'][0]}fy b{CYRILLIC['o']}t".replace(CYRILLIC["o"], "\u0456", 1),
        "n u d 1 f y . b 0 t",
        "N̶u̶d̶i̶f̶y̶ bot",
        "tg://resolve?domain=nudify_bot",
    ],
)
def test_disguised_username_is_found(text: str) -> None:
    assert found("@nudify_bot", text)


@pytest.mark.parametrize(
    "text",
    [
        "art class: the nude in painting",
        "my notify bot is down",
        "nudify is a word in the news about bots",  # the name is a run: "nudify" + "bot"
        "",
    ],
)
def test_ordinary_text_is_not_found(text: str) -> None:
    assert not found("@nudify_bot", text)


def test_phrases_match_whole_words_and_spaced_out_letters() -> None:
    assert found("undress any girl", "Bot can UNDRESS  any-girl for free")
    assert found("undress any girl", "u n d r e s s a n y g i r l")
    assert found("undress any girl", f"undr{CYRILLIC['e']}{ZWSP}ss any girl")
    assert not found("undress any girl", "she was undressing any girl's doll")
    assert found("free nudes", "Free nudes here")
    assert not found("free nudes", "f r e e nudes"), "short phrases are not squashed"


def test_links_are_found_without_scheme_and_with_disguised_dots() -> None:
    assert found("https://www.clothoff.io/", "visit clothoff[.]io today")
    assert found("clothoff.io", "CLOTHOFF . IO")
    assert not found("clothoff.io", "clothoff fabric")


def test_lookalike_letters_fold_to_ascii() -> None:
    disguised = "".join(CYRILLIC.get(c, c) for c in "escape")
    assert disguised != "escape"
    assert skeleton(disguised) == skeleton("escape")
    assert skeleton("@lnt_Polsk_Bot") == skeleton("@Int_Polsk_Bot"), "l and capital I"
    assert skeleton("\u3164\u2800ab") == "ab", "invisible fillers dropped"


@pytest.mark.parametrize(
    ("pattern", "kind"),
    [
        ("@nudify_bot", TextKind.USERNAME),
        ("https://t.me/nudify_bot", TextKind.USERNAME),
        ("clothoff.io", TextKind.LINK),
        ("undress any girl", TextKind.PHRASE),
        ("QSK300", TextKind.PHRASE),
    ],
)
def test_kind_is_guessed(pattern: str, kind: TextKind) -> None:
    assert parse_pattern(pattern).kind is kind


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("", "cannot be empty"),
        ("   ", "cannot be empty"),
        ("@ab", "too short to block safely"),
        ("a.io", "too short"),
        ("nud", "too short"),
        ("x" * 129, "at most 128"),
        ("bad\x00pattern", "control characters"),
    ],
)
def test_bad_patterns_are_refused(pattern: str, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        parse_pattern(pattern)


def test_parsing_a_stored_pattern_gives_the_same_keys() -> None:
    for text in ("https://t.me/nudify_bot", "@Nudify_Bot", "clothoff.io", "free nudes here"):
        first = parse_pattern(text)
        assert parse_pattern(first.text, first.kind).identity == first.identity


ALPHABET = st.sampled_from("abcdefghnopqrstuvwxyz_")
OBFUSCATIONS = st.sampled_from(["", ZWSP, ZWJ, SOFT_HYPHEN, " ", ".", "-"])


@given(name=st.text(ALPHABET, min_size=5, max_size=20), noise=st.lists(OBFUSCATIONS, max_size=25))
def test_a_username_survives_any_invisible_or_punctuation_noise(
    name: str, noise: list[str]
) -> None:
    if len(name.replace("_", "")) < 5:
        return
    disguised = "".join(c + (noise[i] if i < len(noise) else "") for i, c in enumerate(name))
    disguised = "".join(CYRILLIC.get(c, c) if i % 2 else c.upper() for i, c in enumerate(disguised))
    assert found(f"@{name}", f"write to {disguised} today")


@given(
    keys=st.lists(st.text("abcd ", min_size=1, max_size=6), min_size=1, max_size=12),
    text=st.text("abcd ", max_size=60),
    removed=st.sets(st.integers(0, 11), max_size=6),
)
def test_index_agrees_with_brute_force(keys: list[str], text: str, removed: set[int]) -> None:
    index = TextIndex()
    entries = [
        TextKey(i, f" {k} " if i % 2 else None, k.replace(" ", "") or None)
        for i, k in enumerate(keys)
    ]
    index.add(entries)
    index.remove(removed)
    live = [e for e in entries if e.entry_id not in removed]
    words, squashed = f" {text} ", text.replace(" ", "")
    expected = {
        e.entry_id
        for e in live
        if (e.words and e.words in words) or (e.squashed and e.squashed in squashed)
    }
    assert index.search(words, squashed) == expected
    assert len(index) == len(live)


# -- text banks through the engine -----------------------------------------------------------


def test_text_bank_blocks_through_the_moderator(runtime: Runtime) -> None:
    curator = runtime.curator
    curator.create_bank("adverts", BankKind.TEXT)
    entry = curator.add_text("adverts", "@nudify_bot", "test")
    assert entry.signals[0].variant == "username"
    decision = runtime.moderator.scan_text(
        f"get pics of anyone: t.me/nud\u0456fy_b{CYRILLIC['o']}t", source="test", reference="m1"
    )
    assert decision.verdict is Verdict.BLOCK
    assert [(r.code, r.bank, r.entry_id) for r in decision.decision.reasons] == [
        ("text_match", "adverts", entry.id)
    ]
    assert runtime.moderator.scan_text("hello", source="test").verdict is Verdict.ALLOW
    image = to_bytes(synthetic_photo(5))
    with_caption = runtime.moderator.scan(image, source="test", text="ask @NUDIFY_BOT")
    assert with_caption.verdict is Verdict.BLOCK
    assert with_caption.scores is None, "a blocking text match needs no classifier"


def test_text_patterns_are_added_once_removed_and_reinstated(runtime: Runtime) -> None:
    curator = runtime.curator
    curator.create_bank("adverts", BankKind.TEXT)
    first = curator.add_text("adverts", "https://t.me/nudify_bot", "test")
    with pytest.raises(EntryExistsError, match="blocked already"):
        curator.add_text("adverts", "@Nudify_Bot", "test")
    [withdrawn] = curator.remove_text("adverts", "@nudify_bot", "test")
    assert withdrawn.id == first.id and withdrawn.status is EntryStatus.WITHDRAWN
    assert runtime.moderator.scan_text("@nudify_bot", source="t").verdict is Verdict.ALLOW
    with pytest.raises(EntryNotFoundError):
        curator.remove_text("adverts", "@nudify_bot", "test")
    again = curator.add_text("adverts", "https://t.me/nudify_bot", "test")
    assert again.id == first.id and again.status is EntryStatus.ACTIVE
    assert runtime.moderator.scan_text("@nudify_bot", source="t").verdict is Verdict.BLOCK


def test_text_and_image_banks_do_not_mix(runtime: Runtime) -> None:
    curator = runtime.curator
    curator.create_bank("adverts", BankKind.TEXT)
    curator.create_bank("known")
    with pytest.raises(InvalidArgumentError, match="holds text patterns"):
        curator.add_image("adverts", to_bytes(synthetic_photo(1)), "test")
    with pytest.raises(InvalidArgumentError, match="not text"):
        curator.add_text("known", "@nudify_bot", "test")


def test_text_banks_export_and_import(runtime: Runtime) -> None:
    curator = runtime.curator
    curator.create_bank("adverts", BankKind.TEXT)
    curator.add_text("adverts", "@nudify_bot", "test")
    curator.add_text("adverts", "undress any girl", "test")
    for fmt in BankFileFormat:
        out = io.StringIO()
        curator.export("adverts", out, fmt)
        curator.create_bank(f"copy-{fmt.value}", BankKind.TEXT)
        result = curator.import_text(f"copy-{fmt.value}", out.getvalue(), fmt, "import")
        assert (result.added, result.skipped) == (2, 0)
    plain = "signal_type,value\ntext,clothoff.io\ntext,@undress_ai_bot\n"
    curator.create_bank("plain", BankKind.TEXT)
    assert curator.import_text("plain", plain, BankFileFormat.CSV, "import").added == 2
    kinds = sorted(e.signals[0].variant for e in curator.text_entries("plain"))
    assert kinds == ["link", "username"]
    decision = runtime.moderator.scan_text("try CLOTHOFF.IO", source="t")
    assert {r.bank for r in decision.decision.reasons} == {"plain"}
    curator.create_bank("known")
    with pytest.raises(Exception, match="cannot go into known bank"):
        curator.import_text("known", plain, BankFileFormat.CSV, "import")
    with pytest.raises(Exception, match="too short"):
        curator.import_text("plain", "signal_type,value\ntext,@ab\n", BankFileFormat.CSV, "x")


def test_scoped_banks_apply_only_to_their_scope(runtime: Runtime) -> None:
    curator = runtime.curator
    photo = to_bytes(synthetic_photo(8))
    curator.create_bank("known")
    curator.add_image("known", photo, "test")
    curator.create_bank("group-a-allow", BankKind.ALLOW, scope="telegram:-100")
    curator.add_image("group-a-allow", photo, "test")
    curator.create_bank("group-a-text", BankKind.TEXT, scope="telegram:-100")
    curator.add_text("group-a-text", "buy my course", "test")
    scan = runtime.moderator.scan
    assert scan(photo, source="t", scope="telegram:-100").verdict is Verdict.ALLOW
    assert scan(photo, source="t", scope="telegram:-200").verdict is Verdict.BLOCK
    assert scan(photo, source="t").verdict is Verdict.BLOCK, "unscoped scans skip scoped banks"
    text = runtime.moderator.scan_text
    assert text("Buy my course!", source="t", scope="telegram:-100").verdict is Verdict.BLOCK
    assert text("Buy my course!", source="t", scope="telegram:-200").verdict is Verdict.ALLOW
    bank = curator.ensure_bank("group-a-text", BankKind.TEXT, "telegram:-100", actor="t")
    assert bank.scope == "telegram:-100"
    with pytest.raises(InvalidArgumentError, match="exists as kind"):
        curator.ensure_bank("group-a-text", BankKind.ALLOW, "telegram:-100", actor="t")
    with pytest.raises(InvalidArgumentError, match="bank scope"):
        curator.create_bank("bad-scope", BankKind.ALLOW, scope="has spaces")
    fresh = curator.ensure_bank("group-b-allow", BankKind.ALLOW, "telegram:-200", actor="t")
    assert fresh.scope == "telegram:-200"
    store_bank = runtime.store.get_bank("group-b-allow")
    assert store_bank.scope == "telegram:-200"
