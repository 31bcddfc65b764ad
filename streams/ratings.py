"""Recognising a satisfaction answer: typed in the OA chat, or given through the ZBS rating template.

The survey invitation asks for 1, 2 or 3, or the words of the national scale. People answer "3", "3.",
"so 3", "rat hai long", "RẤT HÀI LÒNG!!", "Hài lòng, cán bộ nhiệt tình", or with the old Vietnamese
keyboard's decomposed marks. Matching is on the unaccented, lower-cased words (đ → d), longest phrase
first, so "khong hai long" is never read as "hai long". Anything after the answer is the comment
(``NoiDungDanhGia``). A message that is not an answer returns None and goes to the command parser.
Only consulted for citizens with a pending survey, so a lone "2" means a rating, not a typo.

A survey invitation sent as a ZBS template can be rated in Zalo itself; Zalo then posts a ZNS webhook event
naming the message (``FEEDBACK_EVENT``, see ``zbs_rating``). Its tracking id is a hash, so the invitation is
recorded by tracking id when it is made (``invite_for``) and the callback is matched against that record.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import ValidationError

from schemas.chat_command import DossierCommand
from schemas.codec import dumps
from schemas.common import VN_TZ
from schemas.notification import Kind, Notification, SendChannel
from schemas.problems import Problem
from schemas.rating import RATING_LABEL_VI, Rating, RatingChannel, RatingInvite, RatingLevel
from schemas.zalo_event import ZaloEvent
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


DEFAULT_TTL = timedelta(days=30)
"""How long a survey can be answered (``HOSO_RATING_INVITE_TTL_DAYS``)."""


def on_rate(
    cmd: DossierCommand,
    state: DossierState | None,
    followers: Followers,
    *,
    now: datetime,
    ttl: timedelta = DEFAULT_TTL,
) -> tuple[Rating | None, str | None]:
    """The rating a RATE command records on this dossier, and the text answering it (None, None: not this one).

    A citizen's answer is sent to every dossier they follow; only a finished dossier whose survey is due
    (or sent) and which this citizen follows takes it, so an answer never rates a dossier still in process.
    The survey closes ``ttl`` after its invitation went out (``survey_invited_at``, processing time, so an
    agency's back-dated events cannot close it early): a later answer is refused with the date it closed
    (None and the refusal's text), not recorded. A dossier invited before that time was kept has no limit.
    """
    if state is None or cmd.muc_do is None or not (state.survey_invited or state.trang_thai in RATEABLE):
        return None, None
    sid = next((s for s in cmd.subscriber_ids if s in followers), None)
    if sid is None or state.source_system == "unknown":
        return None, None
    closes = _closes(state.survey_invited_at, ttl)
    if closes is not None and closes <= now:
        return None, survey_closed(cmd.ma_ho_so, closes)
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


def survey_closed(code: str, closed: datetime) -> str:
    """The reply to an answer given after the survey closed: nothing was recorded, and where to turn instead."""
    return (
        f"Thời hạn đánh giá việc giải quyết hồ sơ số {code} đã kết thúc ngày {closed.astimezone(VN_TZ):%d/%m/%Y}, "
        "nên ý kiến này không được ghi nhận.\n"
        "Đề nghị Ông/Bà liên hệ cơ quan giải quyết hồ sơ nếu cần phản ánh, kiến nghị.\n"
        "Trân trọng cảm ơn Ông/Bà."
    )


def _closes(since: str | None, ttl: timedelta) -> datetime | None:
    try:
        when = datetime.fromisoformat(since) if since else None
    except ValueError:
        return None
    return when + ttl if when is not None and when.tzinfo is not None else None


def rating_record(rating: Rating) -> tuple[bytes, bytes]:
    """Key and value of a rating on the ratings topic (keyed per dossier and citizen, for compaction)."""
    return rating.key.encode(), dumps(rating)


# --- the ZBS rating template's callback -----------------------------------------------------------

FEEDBACK_EVENT = "user_feedback"
"""Event name of a rating given through a ZBS template. NOT in ../shared/zalo-api.md, which only says ZBS
events include "rating or quick-reply responses" (§6.3): the name, and the ``message`` fields ``rate`` (stars,
1–5), ``note``, ``feedbacks`` (the chips the citizen ticked) and ``submit_time`` (epoch ms), are modelled on
the documented ZBS receipt shape plus the field names resellers expose for Zalo's ZNS rating records. Verify
against one live event before relying on it; the parser below is deliberately lenient about types."""


def invite_for(n: Notification, agency: str, now: datetime) -> RatingInvite | None:
    """The record a survey invitation leaves for its rating callback (None: not one that can be rated in Zalo)."""
    if n.kind is not Kind.SURVEY or n.channel is not SendChannel.ZBS_PHONE or n.ma_ho_so is None:
        return None
    if agency == "unknown":
        return None
    return RatingInvite(
        tracking_id=n.tracking_id,
        ma_ho_so=n.ma_ho_so,
        subscriber_id=n.to.subscriber_id,
        agency=agency,
        oa_id=n.oa_id,
        invited_at=now,
    )


def invite_record(invite: RatingInvite) -> tuple[bytes, bytes]:
    """Key (the tracking id, as Zalo echoes it) and value of an invitation on the rating-invites topic."""
    return invite.tracking_id.encode(), dumps(invite)


def invite_lapsed(raw: bytes | None, at: datetime, ttl: timedelta) -> bool:
    """Whether a stored invitation can no longer be rated as of ``at`` (a damaged one never can): purge it."""
    if not raw:
        return False
    try:
        invite = RatingInvite.model_validate_json(raw)
    except ValidationError:
        return True
    return invite.invited_at + ttl <= at


def level_from_stars(stars: int) -> RatingLevel:
    """Zalo's five stars on the national three levels: 1–2 Không hài lòng, 3–4 Hài lòng, 5 Rất hài lòng.

    Three stars is the template's middle answer, neither a complaint nor praise; only the top mark is
    "very satisfied", so the agency's very-satisfied share is not inflated by lukewarm fours.
    """
    if stars <= 2:
        return RatingLevel.KHONG_HAI_LONG
    return RatingLevel.HAI_LONG if stars <= 4 else RatingLevel.RAT_HAI_LONG


def _stars(raw: object) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, str) and raw.strip().isdigit():
        raw = int(raw.strip())
    return raw if isinstance(raw, int) and 1 <= raw <= 5 else None


def _comment(message: dict) -> str | None:
    parts: list[str] = []
    note = message.get("note")
    if isinstance(note, str | int) and not isinstance(note, bool) and str(note).strip():
        parts.append(str(note).strip())
    chips = message.get("feedbacks")
    if isinstance(chips, str):
        chips = [chips]
    if isinstance(chips, list):
        parts += [c.strip() for c in chips if isinstance(c, str) and c.strip()]
    text = "; ".join(unicodedata.normalize("NFC", p) for p in parts)
    return text[:MAX_COMMENT] or None


def _submitted(message: dict, fallback: datetime) -> datetime:
    raw = message.get("submit_time")
    if isinstance(raw, str) and raw.strip().isdigit():
        raw = int(raw.strip())
    if isinstance(raw, int) and not isinstance(raw, bool) and 1_000_000_000_000 <= raw < 10_000_000_000_000:
        return datetime.fromtimestamp(raw / 1000, VN_TZ)
    return fallback


@dataclass(frozen=True)
class ZbsRatingResult:
    """What a rating callback does: a rating, or the reason it records none (outcome label and problem)."""

    outcome: str
    rating: Rating | None = None
    problem: Problem | None = None


def zbs_rating(event: ZaloEvent, invite_raw: bytes | None, *, ttl: timedelta = DEFAULT_TTL) -> ZbsRatingResult:
    """The rating a ZBS rating callback gives, matched to its invitation (``invite_raw``: the table's bytes).

    A callback with no tracking id, or whose tracking id names no survey invitation we sent, cannot be tied
    to a dossier: it is ``unmatched`` and parked with the reason, never guessed at. Stars outside 1–5 are
    ``invalid`` and parked too. A citizen who rates again gets a new ``submit_time``, hence a new answer id:
    the later rating replaces the earlier one on the compacted topic.

    A callback received ``ttl`` or more after its invitation is ``expired``: refused, not recorded, and not
    parked (Zalo sent it correctly; the survey is simply over). No reply goes back: the rating came through a
    template sent to a phone number, and the OA can write to a phone only with another approved template.
    Once purged (``invite_lapsed``), a late callback is ``unmatched`` like any unknown tracking id.
    """
    message = event.payload.get("message")
    message = message if isinstance(message, dict) else {}
    if not event.tracking_id:
        return ZbsRatingResult("unmatched", problem=Problem("message.tracking_id", "missing: cannot find the dossier"))
    if invite_raw is None:
        return ZbsRatingResult(
            "unmatched",
            problem=Problem("message.tracking_id", "no survey invitation was sent with this tracking id"),
        )
    stars = _stars(message.get("rate"))
    if stars is None:
        return ZbsRatingResult(
            "invalid", problem=Problem("message.rate", f"expected 1 to 5 stars, got {message.get('rate')!r:.40}")
        )
    try:
        invite = RatingInvite.model_validate_json(invite_raw)
    except ValidationError:
        return ZbsRatingResult("invalid", problem=Problem("rating_invite", "stored invitation is damaged"))
    if invite.invited_at + ttl <= event.received_at:
        return ZbsRatingResult("expired")
    msg_id = message.get("msg_id")
    submit = message.get("submit_time")
    answer = f"zbs:{msg_id if msg_id is not None else event.tracking_id}:{submit if submit is not None else ''}"
    rating = Rating(
        ma_ho_so=invite.ma_ho_so,
        subscriber_id=invite.subscriber_id,
        agency=invite.agency,
        muc_do=level_from_stars(stars),
        noi_dung=_comment(message),
        channel=RatingChannel.ZBS_RATING,
        rated_at=_submitted(message, event.received_at),
        oa_id=invite.oa_id,
        answer_id=answer[:400],
    )
    return ZbsRatingResult("rated", rating=rating)
