"""Text normalisation for blocklist matching: a nudify-bot advert with its disguises taken off.

Adverts that want to get past a word filter write bot names and links with lookalike letters of
other scripts (a Cyrillic o for a Latin one), fullwidth or mathematical letters, zero-width
characters between letters, combining marks, digits for letters ("n00dify") and punctuation
inside names ("t . me / nud1fy_bot"). ``skeleton`` undoes all of these in the same way for a
pattern and for a message, so that skeletons are compared:

- NFKC folds compatibility forms (fullwidth, mathematical, circled, superscript letters);
- format characters (zero-width spaces and joiners, bidi marks, soft hyphens), invisible fillers
  and combining marks (accents, strike-through overlays) are dropped;
- each other character that Unicode lists as confusable with plain ASCII (UTS #39 data, through
  ``confusable_homoglyphs``) becomes that ASCII; case is folded;
- digits and symbols that stand for letters fold to them (0 o, 1 l, 3 e, 4 a, 5 s, 7 t, @ a,
  $ s), and "i" and "l" count as one letter.

Two forms of a skeleton are compared. ``words`` (every run of other characters becomes one
space) for phrases, found as whole words; ``squashed`` (letters and digits only) for usernames
and links, found anywhere, so that "t.me/nudify_bot", "@nudify_bot" and "n u d i f y bot" all
contain the username "nudify_bot".
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

from shieldwall.domain import (
    InvalidArgumentError,
    TextKind,
    guess_text_kind,
    validate_text_pattern,
)

#: Shortest squashed username or link pattern: shorter ones are found inside ordinary words.
MIN_SQUASHED = 5
#: Shortest phrase pattern (letters and digits, spaces not counted).
MIN_PHRASE = 4
#: A phrase this long (letters and digits) is also found with its spaces squashed out, so that
#: "u n d r e s s  a n y  g i r l" is found; shorter ones would turn up inside other words.
MIN_SQUASHED_PHRASE = 12
#: Characters of a message considered (Telegram's longest message is 4,096, captions 1,024;
#: the rest is link targets and buttons).
MAX_TEXT = 16_384

#: Invisible characters that are not of category Cf: Hangul fillers, the braille blank.
_INVISIBLE = frozenset("\u115f\u1160\u3164\uffa0\u2800")
#: Stand-ins for letters, applied after case folding.
_LETTER_FOLD = str.maketrans({"0": "o", "1": "l", "i": "l", "3": "e", "4": "a", "5": "s", "7": "t"})
#: "@" stands for a letter after one ("n@ked"; "@name" is a mention), "$" beside one ("$exy").
_SYMBOL_IN_WORD = re.compile(r"(?<=[a-z0-9])[@$]|\$(?=[a-z0-9])")
_NOT_WORD = re.compile(r"[\W_]+")
_TELEGRAM_LINK = re.compile(
    r"^(?:https?://)?(?:www\.)?(?:t\.me|telegram\.me|telegram\.dog)/(?:s/)?@?([A-Za-z0-9_]+)/?$"
    r"|^tg://resolve\?domain=([A-Za-z0-9_]+)",
    re.IGNORECASE,
)
_SCHEME = re.compile(r"^(?:[a-z][a-z0-9+.-]*://)?(?:www\.)?", re.IGNORECASE)


@functools.cache
def _homoglyphs() -> dict[str, list[dict[str, str]]]:
    from confusable_homoglyphs import confusables  # 0.1 s and ~10 MB: only when text is matched

    data: dict[str, list[dict[str, str]]] = confusables.confusables_data
    return data


@functools.lru_cache(maxsize=8192)
def _plain(char: str) -> str:
    """``char`` as the plain ASCII it looks like, or itself when it looks like none."""
    for glyph in _homoglyphs().get(char, ()):
        text = glyph["c"]
        if text.isascii() and text.isalnum():
            return text
    return char


def skeleton(text: str) -> str:
    """``text`` with lookalikes, invisible characters, marks, case and letter stand-ins folded
    (see the module docstring). The same text always gives the same skeleton."""
    text = unicodedata.normalize("NFKC", text[:MAX_TEXT])
    kept = []
    for char in unicodedata.normalize("NFD", text):
        if char.isascii():
            kept.append(char)
            continue
        category = unicodedata.category(char)
        if category in ("Cf", "Mn", "Me") or char in _INVISIBLE:
            continue
        kept.append(_plain(char))
    folded = "".join(kept).casefold()
    return _SYMBOL_IN_WORD.sub(lambda m: "a" if m.group() == "@" else "s", folded).translate(
        _LETTER_FOLD
    )


def words_form(skeleton_text: str) -> str:
    """Words separated and surrounded by single spaces: " free nudes here "."""
    return f" {_NOT_WORD.sub(' ', skeleton_text).strip()} "


def squashed_form(skeleton_text: str) -> str:
    """Letters and digits only: "tmenudlfybot"."""
    return _NOT_WORD.sub("", skeleton_text)


@dataclass(frozen=True, slots=True)
class TextQuery:
    """A message's text in both compared forms."""

    words: str
    squashed: str

    @classmethod
    def of(cls, text: str) -> TextQuery:
        base = skeleton(text)
        return cls(words_form(base), squashed_form(base))


@dataclass(frozen=True, slots=True)
class TextPattern:
    """A blocklist pattern: ``text`` as stored and shown; its keys as compared, in the
    ``words`` form (phrases) and the ``squashed`` form (usernames, links, long phrases)."""

    kind: TextKind
    text: str
    words: str | None
    squashed: str | None

    @property
    def identity(self) -> tuple[str, str | None, str | None]:
        """Two patterns with the same identity block the same texts."""
        return (self.kind.value, self.words, self.squashed)


def parse_pattern(pattern: str, kind: TextKind | None = None) -> TextPattern:
    """A pattern ready to index, or InvalidArgumentError saying why it cannot be one. A link to
    a Telegram username (t.me/name, tg://resolve?domain=name) is the username, so that the
    name is found however the advert writes it."""
    text = validate_text_pattern(pattern)
    kind = kind or guess_text_kind(text)
    if kind is TextKind.PHRASE:
        base = skeleton(text)
        squashed = squashed_form(base)
        if len(squashed) < MIN_PHRASE:
            raise InvalidArgumentError(
                f"phrase {text!r:.60} is too short: at least {MIN_PHRASE} letters or digits"
            )
        long_enough = len(squashed) >= MIN_SQUASHED_PHRASE
        return TextPattern(kind, text, words_form(base), squashed if long_enough else None)
    body = text
    found = _TELEGRAM_LINK.match(text)
    if found:
        kind, body = TextKind.USERNAME, found.group(1) or found.group(2)
    elif kind is TextKind.LINK:
        body = _SCHEME.sub("", text).rstrip("/")
    key = squashed_form(skeleton(body.lstrip("@")))
    if len(key) < MIN_SQUASHED:
        raise InvalidArgumentError(
            f"{kind.value} {text!r:.60} is too short to block safely: at least {MIN_SQUASHED} "
            "letters or digits"
        )
    return TextPattern(kind, text, None, key)
