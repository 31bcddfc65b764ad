"""Recognising a satisfaction answer typed in the OA chat, the way citizens actually type it.

The survey invitation asks for 1, 2 or 3, or the words of the national scale. People answer "3", "3.",
"so 3", "rat hai long", "RẤT HÀI LÒNG!!", "Hài lòng, cán bộ nhiệt tình", or with the old Vietnamese
keyboard's decomposed marks. Matching is on the unaccented, lower-cased words (đ → d), longest phrase
first, so "khong hai long" is never read as "hai long". Anything after the answer is the comment
(``NoiDungDanhGia``). A message that is not an answer returns None and goes to the command parser.
Only consulted for citizens with a pending survey, so a lone "2" means a rating, not a typo.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from schemas.chat_command import DossierCommand
from schemas.codec import dumps
from schemas.rating import RATING_LABEL_VI, Rating, RatingChannel, RatingLevel
from streams.dossier_state import DossierState
from streams.followers import Followers

_PHRASES: tuple[tuple[tuple[str, ...], RatingLevel], ...] = (
    (("rat", "hai", "long"), RatingLevel.RAT_HAI_LONG),
    (("khong", "hai", "long"), RatingLevel.KHONG_HAI_LONG),
    (("chua", "hai", "long"), RatingLevel.KHONG_HAI_LONG),
    (("hai", "long"), RatingLevel.HAI_LONG),
)
_DIGITS = {"1": RatingLevel.KHONG_HAI_LONG, "2": RatingLevel.HAI_LONG, "3": RatingLevel.RAT_HAI_LONG}
_LEAD_INS = frozenset({"so", "muc", "chon", "danh", "gia", "toi", "em", "minh"})
_WORD = re.compile(r"[0-9a-z]+")
MAX_COMMENT = 1000


@dataclass(frozen=True)
class RatingAnswer:
    """A recognised answer: the level, and the citizen's own words after it (None: none)."""

    level: RatingLevel
    comment: str | None


def fold(text: str) -> str:
    """Lower-case, unaccented, đ → d: the form answers are matched in."""
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in text if unicodedata.category(c) != "Mn").lower()


def parse_rating(text: str) -> RatingAnswer | None:
    """The rating a chat message gives, or None when it is not a rating answer."""
    if not isinstance(text, str) or not text.strip():
        return None
    original = unicodedata.normalize("NFC", text.strip())
    folded = fold(original)
    words = [(m.group(), m.start(), m.end()) for m in _WORD.finditer(folded)]
    i = 0
    while i < len(words) - 1 and words[i][0] in _LEAD_INS:  # "so 3", "danh gia: hai long", "chon 2"
        i += 1
    if i >= len(words):
        return None
    level, end = _level_at(words, i)
    if level is None:
        return None
    comment = original[end:].strip(" \t\r\n.,;:!-–—()") if end < len(original) else ""
    return RatingAnswer(level, comment[:MAX_COMMENT] or None)


def _level_at(words: list[tuple[str, int, int]], i: int) -> tuple[RatingLevel | None, int]:
    word = words[i][0]
    if word in _DIGITS:
        following = words[i + 1][0] if i + 1 < len(words) else ""
        if following.isdigit():  # "2 3": two answers, or a number, not a rating
            return None, 0
        return _DIGITS[word], words[i][2]
    for phrase, level in _PHRASES:
        n = len(phrase)
        if tuple(w for w, _, _ in words[i : i + n]) == phrase:
            return level, words[i + n - 1][2]
    return None, 0


RATEABLE = frozenset({"RESULT_RETURNED", "SURVEY_INVITED", "SURVEY_SUBMITTED"})
"""Statuses in which the citizen's answer is about a finished dossier (the survey follows the result)."""


def on_rate(
    cmd: DossierCommand, state: DossierState | None, followers: Followers, *, now: datetime
) -> tuple[Rating | None, str | None]:
    """The rating a RATE command records on this dossier, and the thank-you text (None, None: not this one).

    A citizen's answer is sent to every dossier they follow; only a finished dossier whose survey is due
    (or sent) and which this citizen follows takes it, so an answer never rates a dossier still in process.
    """
    if state is None or cmd.muc_do is None or not (state.survey_invited or state.trang_thai in RATEABLE):
        return None, None
    sid = next((s for s in cmd.subscriber_ids if s in followers), None)
    if sid is None or state.source_system == "unknown":
        return None, None
    level = RatingLevel(cmd.muc_do)
    rating = Rating(
        ma_ho_so=cmd.ma_ho_so,
        subscriber_id=sid,
        agency=state.source_system,
        muc_do=level,
        noi_dung=cmd.noi_dung,
        channel=RatingChannel.ZALO_CHAT,
        rated_at=now,
        oa_id=cmd.oa_id,
        answer_id=cmd.command_id,
    )
    return rating, thanks(cmd.ma_ho_so, level)


def thanks(code: str, level: RatingLevel) -> str:
    """The reply to a recorded rating: what was recorded, and that a new answer replaces it."""
    return (
        f"Cảm ơn Ông/Bà đã đánh giá việc giải quyết hồ sơ {code}: {RATING_LABEL_VI[level]}.\n"
        "Ý kiến đã được chuyển đến cơ quan giải quyết. Muốn đổi đánh giá, Ông/Bà chỉ cần gửi lại 1, 2 hoặc 3."
    )


def rating_record(rating: Rating) -> tuple[bytes, bytes]:
    """Key and value of a rating on the ratings topic (keyed per dossier and citizen, for compaction)."""
    return rating.key.encode(), dumps(rating)
