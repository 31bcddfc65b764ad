"""What a citizen typed, as a command: ``DK``, ``TC``, ``HUY``, ``XN`` (proof) or anything else (help).

Citizens type on phones: with or without diacritics (``Hủy``, ``huy``, ``HUỶ``), in any case, with extra
spaces and punctuation (``TC:<mã>``), the long forms (``đăng ký``, ``đăng kí``, ``tra cứu hồ sơ``) and polite
words around the code (``DK <mã> cảm ơn``). Folding removes marks and case; the verb is then matched against
one table (``SPELLINGS``, longest spelling first) and the code is the first word that looks like a dossier code,
whatever words surround it. Other parsers (e.g. satisfaction ratings) can run before or after this one: it is
a pure function of the text and has no state.
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
    PROVE = "XN"
    HELP = "HELP"


def _words(*spellings: str) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(s.split()) for s in spellings)


# Folded spellings of each verb as citizens type them (§9 of the e-government notes and support logs).
# "HUY DANG KY" must win over "HUY" + a code "DANG": the matcher tries the longest spelling first. A bare
# "DUNG" is not a stop: folded, "Đúng" (yes, right) is spelled the same.
SPELLINGS: dict[Verb, tuple[tuple[str, ...], ...]] = {
    Verb.FOLLOW: _words(
        "DANG KY",
        "DANG KI",
        "DANGKY",
        "DANGKI",
        "DK",
        "DKY",
        "DANG KY THEO DOI",
        "DANG KY NHAN THONG BAO",
        "THEO DOI",
        "THEODOI",
    ),
    Verb.LOOKUP: _words("TRA CUU", "TRACUU", "TC", "TRA", "KIEM TRA", "XEM"),
    Verb.STOP: _words(
        "HUY",
        "HUY BO",
        "HUY DANG KY",
        "HUY DANG KI",
        "HUY DK",
        "HUYDK",
        "HUY TAT CA",
        "HUY THEO DOI",
        "HUY NHAN THONG BAO",
        "DUNG NHAN",
        "DUNG NHAN THONG BAO",
        "DUNG THONG BAO",
        "NGUNG",
        "NGUNG NHAN THONG BAO",
        "STOP",
    ),
    Verb.PROVE: _words("XN", "XAC THUC", "XACTHUC", "XAC NHAN", "MA XAC THUC", "OTP"),
}
_TABLE: tuple[tuple[tuple[str, ...], Verb], ...] = tuple(
    sorted(((s, v) for v, spellings in SPELLINGS.items() for s in spellings), key=lambda sv: -len(sv[0]))
)

_CODE = re.compile(r"^[A-Z0-9][A-Z0-9._/-]{3,49}$")
_SECRET = re.compile(r"^\d{4,12}$")
_SEPARATORS = "-./"
_STRIP = ".,;:!?()[]{}\"'#*<>"
# Characters a citizen puts between a verb and a code ("TC:<mã>", "DK,<mã>", "tc #<mã>").
_GLUE = re.compile(r"[:;,#=]+")


@dataclass(frozen=True)
class Command:
    """A parsed message: the verb, the dossier code if one was given, a secret for proof, and why the code
    was unusable (``missing`` or ``invalid``)."""

    verb: Verb
    code: str | None = None
    problem: str | None = None
    secret: str | None = None


def fold(text: str) -> str:
    """Upper case, no diacritics (đ → D), single spaces: the form commands are matched in."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.upper().split())


def tokens(text: str | None) -> list[str]:
    """The folded words of a message, with the glue citizens put around codes turned into spaces."""
    return _GLUE.sub(" ", fold(text or "")).split()


def parse(text: str | None) -> Command:
    """The command in ``text``; anything unrecognised is ``HELP``."""
    words = tokens(text)
    for spelling, verb in _TABLE:
        if tuple(words[: len(spelling)]) == spelling:
            return _with_code(verb, words[len(spelling) :])
    if len(words) == 1 and _SECRET.fullmatch(words[0].strip(_STRIP)):
        return Command(Verb.PROVE, secret=words[0].strip(_STRIP))  # a bare one-time code typed back after "XN <mã>"
    joined = _join_code_parts([w.strip(_STRIP) for w in words])
    if joined and _is_code(joined[0]) and not _SECRET.fullmatch(joined[0]):
        return _with_code(Verb.LOOKUP, joined)  # a code on its own (scanned or pasted from the receipt)
    return Command(Verb.HELP)


def _is_code(word: str) -> bool:
    return bool(_CODE.fullmatch(word)) and any(c.isdigit() for c in word)


def _join_code_parts(words: list[str]) -> list[str]:
    """A code typed with stray spaces ("000.00.49.H22 -261128-0001") is still one code."""
    out: list[str] = []
    for w in words:
        if not w:
            continue
        if out and (w[0] in _SEPARATORS or out[-1][-1] in _SEPARATORS):
            out[-1] += w
        else:
            out.append(w)
    return out


def _with_code(verb: Verb, rest: list[str]) -> Command:
    words = _join_code_parts([w.strip(_STRIP) for w in rest])
    code_at = next((i for i, w in enumerate(words) if _is_code(w)), None)
    if code_at is None:
        odd = any(not w.strip(_STRIP).isalpha() for w in rest)
        if verb is Verb.STOP and not odd:
            return Command(verb)  # "Hủy", "Hủy tất cả", "Hủy đăng ký ạ": stop everything
        return Command(verb, problem="invalid" if odd else "missing")
    code = words[code_at]
    if verb is Verb.PROVE:
        secret = next((w for w in words[code_at + 1 :] if _SECRET.fullmatch(w)), None)
        return Command(verb, code=code, secret=secret)
    return Command(verb, code=code)
