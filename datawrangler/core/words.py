"""Counts in messages: "1 file has", "3 files have". In core so that every layer (store, CLI, window,
handoff) writes them the same way; the reports have their own `fmt.plural`, with thousands separators."""

from __future__ import annotations


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 file', '3 files', '0 files', '2 copies', '2 mismatches'; `many` for a word the rules get wrong.
    The rules look at the last word only: plural(2, 'verified copy') -> '2 verified copies'."""
    if n == 1:
        return f"{n} {word}"
    if many is None:
        low = word.lower()
        if low.endswith("y") and low[-2:-1] not in ("", "a", "e", "i", "o", "u"):
            many = word[:-1] + "ies"
        elif low.endswith(("s", "x", "ch", "sh")):
            many = word + "es"
        else:
            many = word + "s"
        if word.isupper():
            many = many.upper()
    return f"{n} {many}"


def agree(n: int, one: str, many: str) -> str:
    """The verb (or any word) that goes with a count: agree(1, 'has', 'have') -> 'has'."""
    return one if n == 1 else many
