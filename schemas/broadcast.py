"""Broadcast: an authority's message to an area: an emergency alert (disaster, epidemic) or policy news.

EMERGENCY goes at once, any hour, to everyone following a dossier handled in the area and to every OA
follower placed there. POLICY news goes to the OA followers placed there only (they asked for the OA's news;
an agency's consent covers notices about a dossier, not news), waits out quiet hours and is capped per
citizen per Vietnam day (``streams.audience``).

The same request is written to every partition of ``broadcasts.v1``, so each streams worker fans it out over
the followers it holds; ``broadcast_id`` makes the whole fan-out idempotent (a resend reaches nobody twice).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from schemas.common import Text200, VnDateTime, nfc

AREA_CODE_LENGTH = {"PROVINCE": 2, "COMMUNE": 5}


class AreaLevel(StrEnum):
    """Which part of ``ma_dvhc`` (QĐ 19/2025 codes) the alert targets."""

    PROVINCE = "PROVINCE"
    COMMUNE = "COMMUNE"


def _nfc_text(value: object) -> object:
    return nfc(value).strip() if isinstance(value, str) else value


AlertText = Annotated[str, StringConstraints(min_length=1, max_length=2000)]


BroadcastKind = Literal["EMERGENCY", "POLICY"]
"""EMERGENCY: immediate, any hour, exempt from quiet hours and caps. POLICY: news, paced per citizen."""


class Broadcast(BaseModel):
    """One area broadcast request; ``priority`` is its kind (EMERGENCY when absent, as before kinds existed)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    broadcast_id: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
    area_level: AreaLevel
    area_code: Annotated[str, StringConstraints(pattern=r"^\d{2}(\d{3})?$")]
    text: AlertText
    template_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    template_data: dict[str, Annotated[str, StringConstraints(max_length=400)]] = Field(default_factory=dict)
    issued_by: Text200
    issued_at: VnDateTime
    priority: BroadcastKind = "EMERGENCY"

    @property
    def is_policy(self) -> bool:
        """Policy news (paced) rather than an emergency alert (immediate)."""
        return self.priority == "POLICY"

    @model_validator(mode="before")
    @classmethod
    def _compose(cls, data: object) -> object:
        # Zalo counts composed characters, so the 2000 limit is checked on NFC text.
        if isinstance(data, dict):
            data = dict(data)
            if isinstance(data.get("text"), str):
                data["text"] = _nfc_text(data["text"])
            if isinstance(data.get("template_data"), dict):
                data["template_data"] = {k: _nfc_text(v) for k, v in data["template_data"].items()}
        return data

    @model_validator(mode="after")
    def _code_fits_level(self) -> Broadcast:
        if len(self.area_code) != AREA_CODE_LENGTH[self.area_level.value]:
            raise ValueError(
                f"area_code {self.area_code!r} is not a {self.area_level.value.lower()} code "
                f"({AREA_CODE_LENGTH[self.area_level.value]} digits)"
            )
        return self


def level_of(area_code: str) -> AreaLevel:
    """The level a bare code denotes: 2 digits a province, 5 digits a commune."""
    for level, length in AREA_CODE_LENGTH.items():
        if len(area_code) == length and area_code.isdigit():
            return AreaLevel(level)
    raise ValueError(f"{area_code!r} is neither a province (2 digits) nor a commune (5 digits) code")
