"""Counted nouns for messages: "1 service", "2 services", never "1 services" or "2 file(s)".

Output is read by people first; a "(s)" or a wrong plural makes every summary line look
machine-made, and each message guessing its own plural is how "1 services" happened.
"""

from __future__ import annotations


def plural(count: int, word: str, many: str | None = None) -> str:
    """``count`` and ``word``, in the plural unless ``count`` is exactly 1.

    ``many`` is the plural form when adding "s" is wrong ("entry" → "entries"). Zero takes the
    plural, as English does ("0 changes").
    """
    if count == 1:
        return f"{count} {word}"
    return f"{count} {many if many is not None else word + 's'}"
