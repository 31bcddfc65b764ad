"""Area commands in chat: ``THEO DOI <xã/phường/tỉnh>`` to get an area's news, ``BO THEO DOI`` to stop.

"THEO DOI" already means following a dossier (``streams.chat_commands``), and stays so: an argument that
looks like a dossier code is a dossier follow, and this parser steps aside (returns None). Anything else
after "THEO DOI" is taken as an area name, so a citizen who writes "theo doi phuong bai chay a" is answered
about Bãi Cháy (or told how to write an area) instead of being told their dossier code is malformed.
A known 2- or 5-digit area code counts as an area, not as a dossier code.

``BO THEO DOI`` (and "Bỏ theo dõi tin", "hủy theo dõi <area>") stops area news: all of it when no area is
named. A bare "HỦY THEO DÕI" keeps its older meaning (stop all dossier notices) and is not parsed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from streams.areas import AreaCatalogue, Resolved
from streams.chat_commands import _is_code, _join_code_parts, tokens

_STRIP = ".,;:!?()[]{}\"'#*<>"


class AreaVerb(StrEnum):
    """Follow an area's news, or stop it."""

    FOLLOW_AREA = "THEO_DOI"
    STOP_AREA = "BO_THEO_DOI"


_FOLLOW = [
    ("DANG", "KY", "THEO", "DOI"),
    ("DANG", "KI", "THEO", "DOI"),
    ("DK", "THEO", "DOI"),
    ("THEO", "DOI"),
    ("THEODOI",),
]
_STOP = [
    ("BO", "THEO", "DOI"),
    ("BO", "THEODOI"),
    ("BOTHEODOI",),
    ("HUY", "THEO", "DOI"),
    ("DUNG", "THEO", "DOI"),
    ("NGUNG", "THEO", "DOI"),
]
_FILLER = {"TIN", "TUC", "THONG", "BAO", "CUA", "O", "TAI", "KHU", "VUC", "DIA", "PHUONG", "A", "NHE", "NHA"}


@dataclass(frozen=True)
class AreaCommand:
    """An area request: the verb, what the words named, and the words themselves (for the reply)."""

    verb: AreaVerb
    resolved: Resolved
    words: str

    @property
    def named(self) -> bool:
        """Whether the citizen typed anything after the verb besides filler ("tin", "ạ")."""
        return any(w not in _FILLER for w in self.words.split())


def parse(text: str | None, catalogue: AreaCatalogue) -> AreaCommand | None:
    """The area command in ``text``, or None when it is something else (a dossier command, help, …)."""
    words = tokens(text)
    for verb, spellings in ((AreaVerb.STOP_AREA, _STOP), (AreaVerb.FOLLOW_AREA, _FOLLOW)):
        for spelling in spellings:
            if tuple(words[: len(spelling)]) == spelling:
                return _argument(verb, spelling, words[len(spelling) :], catalogue)
    return None


def _argument(
    verb: AreaVerb, spelling: tuple[str, ...], rest: list[str], catalogue: AreaCatalogue
) -> AreaCommand | None:
    joined = _join_code_parts([w.strip(_STRIP) for w in rest])
    if any(_is_code(w) and w not in catalogue.by_code for w in joined):
        return None  # a dossier code: "THEO DOI <mã>" / "HUY THEO DOI <mã>" is about a dossier
    command = AreaCommand(verb, catalogue.resolve(" ".join(rest)), " ".join(rest))
    if verb is AreaVerb.FOLLOW_AREA and not command.named:
        return None  # a bare "THEO DOI": the dossier command's "which code?" answer
    if verb is AreaVerb.STOP_AREA and not spelling[0].startswith("BO") and not command.resolved.areas:
        return None  # "Hủy theo dõi" without an area keeps its older meaning: stop dossier notices
    return command
