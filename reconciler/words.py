"""Small helpers for messages in words, light enough for any module to import."""

from __future__ import annotations


def plural(count: int, word: str) -> str:
    """`1 change`, `2 changes`: the count with the word in the right number (regular plurals)."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"
