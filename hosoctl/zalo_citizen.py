"""A citizen on Zalo, played for the demo: types to the OA through signed webhook calls, reads what arrives.

What the citizen types goes where Zalo would send it, the webhook receiver, as a ``user_send_text`` event
signed as zalo-api.md §6.2 says, with the current time (receivers refuse stale timestamps). What the OA
answers and every notice is read back from the Zalo simulator, i.e. from what Zalo accepted, and kept as a
transcript. The typed lines are also reported to the simulator so its inbox page shows both sides.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from hoso.errors import HosoError
from hoso.settings import Settings
from producers.webhook import sign

ANSWER_TIMEOUT_S = 45.0
QUIET_S = 1.5
"""After the first answer, how long without another message ends it (a command may get several)."""


@dataclass(frozen=True)
class Line:
    """One line of the transcript."""

    who: str
    """``citizen``, ``oa`` (a chat answer) or ``notice`` (a template card or follow-up message)."""
    to: str
    text: str


@dataclass
class Inbox:
    """Reads the simulator's accepted messages once each, in arrival order."""

    simulator_url: str
    offset: int = 0

    def new(self) -> list[dict[str, Any]]:
        """Messages accepted since the last call."""
        out: list[dict[str, Any]] = []
        with httpx.Client(base_url=self.simulator_url, timeout=10) as http:
            while True:
                page = orjson.loads(http.get("/_sim/messages", params={"offset": self.offset, "limit": 1000}).content)
                out += page["messages"]
                self.offset += len(page["messages"])
                if len(page["messages"]) < 1000:
                    return out


def describe(message: dict[str, Any]) -> str:
    """A message as one readable line: a card's status, dossier and text, or the OA text itself."""
    data = message.get("template_data") or {}
    if data:
        head = " | ".join(str(data[k]) for k in ("trang_thai", "ma_ho_so") if data.get(k))
        body = str(data.get("noi_dung") or "")
        return f"[{message.get('template_id')}] {head}{' | ' if head and body else ''}{body}"
    return str(message.get("text") or "")


@dataclass
class ZaloCitizen:
    """One Zalo user chatting with the OA, and the transcript of what was typed and what arrived."""

    user_id: str
    webhook_url: str
    simulator_url: str
    settings: Settings
    transcript: list[Line] = field(default_factory=list)
    watch: Callable[[dict[str, Any]], str | None] = lambda _m: None
    """Besides this user's chat, messages worth a transcript line: returns the addressee's label, or None."""

    def __post_init__(self) -> None:
        self.inbox = Inbox(self.simulator_url)
        self.inbox.new()  # only what arrives from now on

    def say(self, text: str, timeout: float = ANSWER_TIMEOUT_S) -> list[str]:
        """Type ``text`` to the OA; the OA's answers (empty if none came within ``timeout``)."""
        self.send(text)
        return self.wait(timeout, as_answer=True)

    def send(self, text: str) -> None:
        """Type ``text`` to the OA without waiting for the answer (a citizen sending line after line)."""
        self.transcript.append(Line("citizen", self.user_id, text))
        httpx.post(f"{self.simulator_url}/_sim/typed", json={"user_id": self.user_id, "text": text}, timeout=10)
        self._post(text)

    def wait(self, timeout: float, *, as_answer: bool = False, until: Callable[[], bool] | None = None) -> list[str]:
        """Collect what arrives for this user (and watched addressees) until quiet; the texts to this user."""
        deadline = time.monotonic() + timeout
        mine: list[str] = []
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            got = self._collect(as_answer)
            mine += got
            now = time.monotonic()
            if got:
                quiet_since = now
            done = until() if until is not None else bool(mine)
            if done and quiet_since is not None and now - quiet_since >= QUIET_S:
                break
            time.sleep(0.25)
        return mine

    def catch_up(self) -> None:
        """Note what arrived so far (for watched addressees too) without waiting."""
        self._collect(as_answer=False)

    def _collect(self, as_answer: bool) -> list[str]:
        mine = []
        for m in self.inbox.new():
            if m.get("user_id") == self.user_id:
                text = describe(m)
                mine.append(text)
                self.transcript.append(Line("oa" if as_answer and not m.get("template_data") else "notice", "", text))
                continue
            label = self.watch(m)
            if label:
                self.transcript.append(Line("notice", label, describe(m)))
        return mine

    def _post(self, text: str) -> None:
        timestamp = str(int(time.time() * 1000))
        body = orjson.dumps(
            {
                "app_id": self.settings.zalo_app_id,
                "sender": {"id": self.user_id},
                "recipient": {"id": self.settings.default_oa_id},
                "event_name": "user_send_text",
                "message": {"msg_id": uuid.uuid4().hex, "text": text},
                "timestamp": timestamp,
            }
        )
        secret = self.settings.zalo_oa_secret_keys.get_secret_value().split(",")[0].strip()
        headers = {
            "Content-Type": "application/json",
            "X-ZEvent-Signature": "mac=" + sign(self.settings.zalo_app_id, body, timestamp, secret),
        }
        for _ in range(10):  # 503: Kafka did not acknowledge yet; Zalo would retry the same call
            status = httpx.post(self.webhook_url, content=body, headers=headers, timeout=10).status_code
            if status == 200:
                return
            if status != 503:
                raise HosoError(f"the webhook refused a signed call: HTTP {status}")
            time.sleep(1.0)
        raise HosoError("the webhook kept answering 503")
