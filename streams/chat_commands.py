"""What a citizen typed, as a command: ``DK``, ``TC``, ``HUY`` or anything else (help).

Citizens type on phones: with or without diacritics (``Hủy``, ``huy``, ``HUỶ``), in any case, with extra
spaces, sometimes the long form (``đăng ký``, ``tra cứu``). Folding removes all of that before matching.
Dossier codes are upper-cased (the national format is upper case) and checked for a plausible shape,
so a typo gets a precise answer instead of a lookup for nonsense.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class Verb(StrEnum):
    """The commands citizens can send."""

    FOLLOW = "DK"
    LOOKUP = "TC"
    STOP = "HUY"
    HELP = "HELP"


# Folded spellings, longest first so "DANG KY" wins over a code that starts with "KY".
_VERBS: tuple[tuple[tuple[str, ...], Verb], ...] = (
    (("DANG", "KY"), Verb.FOLLOW),
    (("TRA", "CUU"), Verb.LOOKUP),
    (("HUY", "DK"), Verb.STOP),
    (("DANGKY",), Verb.FOLLOW),
    (("DK",), Verb.FOLLOW),
    (("TRACUU",), Verb.LOOKUP),
    (("TC",), Verb.LOOKUP),
    (("HUY",), Verb.STOP),
    (("HUYDK",), Verb.STOP),
)
_CODE = re.compile(r"^[A-Z0-9][A-Z0-9._/-]{0,49}$")
_TRAILING = ".,;:!?)\"'"


@dataclass(frozen=True)
class Command:
    """A parsed message: the verb, the dossier code if one was given, and why the code was unusable."""

    verb: Verb
    code: str | None = None
    problem: str | None = None


def fold(text: str) -> str:
    """Upper case, no diacritics (đ → D), single spaces: the form commands are matched in."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.upper().split())


def parse(text: str | None) -> Command:
    """The command in ``text``; anything unrecognised is ``HELP``."""
    words = fold(text or "").split()
    for spelling, verb in _VERBS:
        if tuple(words[: len(spelling)]) == spelling:
            return _with_code(verb, words[len(spelling) :])
    return Command(Verb.HELP)


def _with_code(verb: Verb, rest: list[str]) -> Command:
    if not rest:
        return Command(verb) if verb is Verb.STOP else Command(verb, problem="missing")
    # A code typed with stray spaces ("000.00.49.H22 -261128-0001") is still one code.
    code = "".join(rest).lstrip("#:(").rstrip(_TRAILING)
    if not _CODE.fullmatch(code):
        return Command(verb, problem="invalid")
    return Command(verb, code=code)
