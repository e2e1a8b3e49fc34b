"""Word catalogs: every text a customer or a staff member reads, in Indonesian and English, by key."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

LANGUAGES = ("id", "en")


class Catalog:
    """One surface's words (the chat, the staff screens): `key → {"id": …, "en": …}`.

    Every entry has both languages (checked when added); an unknown language reads as
    Indonesian, the shops' first language.
    """

    def __init__(self, name: str, entries: Mapping[str, Mapping[str, str]] | None = None) -> None:
        self.name = name
        self.entries: dict[str, dict[str, str]] = {}
        if entries:
            self.add(entries)

    @classmethod
    def from_yaml(cls, name: str, path: Path) -> Catalog:
        """A catalog read from a YAML file of `key: {id: …, en: …}` entries."""
        with open(path, encoding="utf-8") as file:
            return cls(name, yaml.safe_load(file) or {})

    def add(self, entries: Mapping[str, Mapping[str, str]]) -> None:
        """Add entries; a key already there or an entry without both languages is a programming error."""
        for key, variants in entries.items():
            missing = [language for language in LANGUAGES if not variants.get(language)]
            if missing:
                raise ValueError(f"{self.name} words: {key!r} has no {', '.join(missing)} text")
            if key in self.entries and self.entries[key] != dict(variants):
                raise ValueError(f"{self.name} words: {key!r} is defined twice")
            self.entries[key] = dict(variants)

    def __contains__(self, key: str) -> bool:
        return key in self.entries

    def __getitem__(self, key: str) -> dict[str, str]:
        return self.entries[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)

    def items(self):
        """The `(key, {language: words})` pairs, in the order they were added."""
        return self.entries.items()

    def text(self, key: str, language: str, **values: Any) -> str:
        """The words for `key` in `language` (Indonesian when unknown), with `{values}` filled in."""
        variants = self.entries[key]
        words = variants.get(language) or variants["id"]
        return words.format(**values) if values else words
