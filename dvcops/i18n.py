"""Vietnamese first, English available: the one way every part translates what it shows people.

Each part keeps its strings as data beside its code, one `Messages` catalogue of `key: (vi, en)`
pairs (report/i18n.py, survey/i18n.py, drills/messages.py, ...); this module only looks them up.
Texts that arrive in both languages as data (a finding's title/title_en, an instrument's vi/en)
are chosen with `pick`. Any language but "en" reads Vietnamese.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

LANGS = ("vi", "en")
"""The languages every catalogue holds, Vietnamese first."""


def lang_of(value: str | None) -> str:
    """The language to show: English only when asked for, Vietnamese otherwise."""
    return "en" if value == "en" else "vi"


def pick(vi: str, en: str | None, lang: str) -> str:
    """The text in `lang` from a pair carried as data; English falls back to Vietnamese when missing."""
    return en if lang == "en" and en else vi


class Messages(Mapping[str, tuple[str, str]]):
    """A part's message catalogue: key -> (Vietnamese, English), each a `str.format` template.

    `messages(key, lang, **params)` is the text to show; an unknown key is a KeyError (a bug, not
    input). `get_text` is for keys that come from data (a level, a severity) and may be unknown.
    """

    def __init__(self, table: Mapping[str, tuple[str, str]]) -> None:
        self._table = dict(table)

    def __getitem__(self, key: str) -> tuple[str, str]:
        return self._table[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)

    def __call__(self, key: str, lang: str, **params: Any) -> str:
        vi, en = self._table[key]
        text = en if lang_of(lang) == "en" else vi
        return text.format(**params) if params else text

    def get_text(self, key: str, lang: str, default: str | None = None) -> str:
        """The text for `key`, or `default` (the key itself when None) if the catalogue has none."""
        if key not in self._table:
            return key if default is None else default
        return self(key, lang)

    def both(self, key: str, **params: Any) -> tuple[str, str]:
        """(Vietnamese, English), filled in: for records that store both languages."""
        vi, en = self._table[key]
        return vi.format(**params), en.format(**params)

    def in_lang(self, lang: str) -> dict[str, str]:
        """Every text in one language, by key (for templates that write `t.title`)."""
        i = 1 if lang_of(lang) == "en" else 0
        return {key: pair[i] for key, pair in self._table.items()}
