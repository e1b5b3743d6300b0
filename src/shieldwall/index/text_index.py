"""TextIndex: a text bank's blocklist patterns, all found in a message in one pass.

Each pattern has a key in one or both compared forms (``words``: whole words between spaces;
``squashed``: letters and digits only; see signals.text). Each form is one Aho-Corasick automaton
(pyahocorasick), so a search costs the length of the message, whatever the number of patterns.
Changes rebuild the automaton of the form they touch (about 1 ms per 1,000 patterns); they run
under the Matcher's write lock, searches under its read lock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import ahocorasick

#: The two forms a key may be in.
WORDS, SQUASHED = "words", "squashed"


@dataclass(frozen=True, slots=True)
class TextKey:
    """What an entry's pattern is compared as: a key in the ``words`` form, ``squashed`` form,
    or both (None where it is not compared in that form)."""

    entry_id: int
    words: str | None
    squashed: str | None


class _Form:
    def __init__(self) -> None:
        self.owners: dict[str, set[int]] = defaultdict(set)
        self.automaton: ahocorasick.Automaton | None = None

    def rebuild(self) -> None:
        if not self.owners:
            self.automaton = None
            return
        automaton = ahocorasick.Automaton()
        for key in self.owners:
            automaton.add_word(key, key)
        automaton.make_automaton()
        self.automaton = automaton

    def find(self, text: str) -> set[int]:
        if self.automaton is None or not text:
            return set()
        found: set[int] = set()
        for _end, key in self.automaton.iter(text):
            found |= self.owners[key]
        return found


class TextIndex:
    def __init__(self) -> None:
        self._forms = {WORDS: _Form(), SQUASHED: _Form()}
        self._keys: dict[int, TextKey] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, keys: Iterable[TextKey]) -> None:
        touched: set[str] = set()
        for key in keys:
            if key.entry_id in self._keys:
                continue
            self._keys[key.entry_id] = key
            for form, value in ((WORDS, key.words), (SQUASHED, key.squashed)):
                if value:
                    self._forms[form].owners[value].add(key.entry_id)
                    touched.add(form)
        for form in touched:
            self._forms[form].rebuild()

    def remove(self, entry_ids: Iterable[int]) -> None:
        touched: set[str] = set()
        for entry_id in entry_ids:
            key = self._keys.pop(entry_id, None)
            if key is None:
                continue
            for form, value in ((WORDS, key.words), (SQUASHED, key.squashed)):
                if value:
                    owners = self._forms[form].owners
                    owners[value].discard(entry_id)
                    if not owners[value]:
                        del owners[value]
                    touched.add(form)
        for form in touched:
            self._forms[form].rebuild()

    def search(self, words: str, squashed: str) -> set[int]:
        """Ids of the entries whose key occurs in the text's ``words`` or ``squashed`` form."""
        return self._forms[WORDS].find(words) | self._forms[SQUASHED].find(squashed)
