"""Citizens who are not (yet) known, strangers and owners, on the live stack.

Real broker, the Faust worker as a process, the webhook receiver with signed calls, the dispatcher and the Zalo
simulator. What a citizen received is read from the simulator's record of what Zalo accepted: OA consultation
messages by user id, ZBS templates by phone. The worker is shared by the tests of this module (it takes a while
to join its group); each test uses its own dossier, Zalo users and phone.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest

from hoso.kafka.admin import create_topics
from hoso.kafka.clients import kafka_python
from hoso.settings import Settings
from hosoctl.processes import free_port
from producers.broadcast import publish_broadcast
from schemas.broadcast import Broadcast
from schemas.common import now_vn
from tests.factories import event
from tests.integration.webhooks import OA_ID, post_signed, text_from, zalo_call
from tests.integration.workers import start_worker
from tests.integration.zalo_stack import ZBS, Stack, zalo_stack

pytestmark = [pytest.mark.broker, pytest.mark.e2e]

OWNER_NAME = "Nguyễn Thị Lan"
PRIVATE = (OWNER_NAME, "Cấp giấy phép xây dựng", "Thiếu bản vẽ thiết kế", "Bản vẽ thiết kế", "Bản sao CCCD")


@pytest.fixture(scope="module")
def stack_settings(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings of this module's deployment, its topics, and its worker (running for the whole module)."""
    import os

    run = secrets.token_hex(4)
    home = tmp_path_factory.mktemp("proof")
    settings = Settings.from_env(
        {
            **{k: v for k, v in os.environ.items() if k.startswith("HOSO_")},
            "KAFKA_BOOTSTRAP": kafka_bootstrap,
            "HOSO_TOPIC_PREFIX": f"t{run}",
            "HOSO_APP_ID": f"t{run}-streams",
            "HOSO_DISPATCHER_GROUP": f"t{run}-dispatcher",
            "HOSO_STATE_DIR": str(home / "state"),
            "HOSO_PARTITIONS": "4",
        }
    ).replace(quiet_hours="", collapse_window_s=0.0, streams_web_port=free_port())
    create_topics(kafka_python(settings), settings.topics)
    worker = start_worker(settings, home / "worker.log")
    try:
        yield settings
    finally:
        worker.stop()


@dataclass
class Live(Stack):
    """One test's view of the stack: send as a citizen, publish as an agency, read what Zalo delivered."""

    http: httpx.AsyncClient

    def to_phone(self, phone84: str) -> list[dict]:
        return [m.template_data or {} for m in self.sim.state.messages if m.endpoint == ZBS and m.recipient == phone84]

    async def post(self, payload: dict) -> int:
        return await post_signed(self.http, self.url, zalo_call(payload))

    async def say(self, user: str, text: str) -> None:
        msg_id = uuid.uuid4().hex  # one message, restamped on each try (503 while new topics still elect leaders)
        async with asyncio.timeout(60):
            while await post_signed(self.http, self.url, text_from(user, text, msg_id)) != 200:
                await asyncio.sleep(1)

    async def ask(self, user: str, text: str, expect: Callable[[str], bool], timeout: float = 90) -> str:
        """Send ``text`` as ``user`` and wait for the first new OA message to them that ``expect`` accepts."""
        before = len(self.to_user(user))
        await self.say(user, text)
        return await self.reply(user, expect, before, timeout)

    async def reply(self, user: str, expect: Callable[[str], bool], before: int, timeout: float = 90) -> str:
        async with asyncio.timeout(timeout):
            while True:
                for t in self.to_user(user)[before:]:
                    if expect(t):
                        return t
                await asyncio.sleep(0.2)

    async def phone_gets(self, phone84: str, expect: Callable[[dict], bool], timeout: float = 90) -> dict:
        async with asyncio.timeout(timeout):
            while True:
                for d in self.to_phone(phone84):
                    if expect(d):
                        return d
                await asyncio.sleep(0.2)


@asynccontextmanager
async def live(settings: Settings) -> AsyncIterator[Live]:
    async with zalo_stack(settings) as stack, httpx.AsyncClient(timeout=10) as http:
        yield Live(stack.settings, stack.url, stack.sim, stack.publisher, http)


def code_for(n: int) -> str:
    return f"000.00.49.H22-2611{n:02d}-{secrets.randbelow(9000) + 1000}"


def owner(phone: str) -> list[dict]:
    return [{"ho_ten_hien_thi": OWNER_NAME, "phone": phone, "dong_y_zalo": True}]


def user_id() -> str:
    return f"58{secrets.randbelow(10**17):017d}"


async def test_dk_before_the_first_sync_waits_and_is_confirmed_with_the_status(stack_settings: Settings):
    code, citizen = code_for(1), user_id()
    async with live(stack_settings) as stack:
        waiting = await stack.ask(citizen, f"Đăng kí {code} cảm ơn", lambda t: code in t, timeout=180)
        assert "chưa được cơ quan cập nhật" in waiting and "sẽ gửi thông báo khi hồ sơ được cập nhật" in waiting
        before = len(stack.to_user(citizen))
        stack.publisher.publish(event("RECEIVED", sequence=1, dossier=code, recipients=owner("0912345601")))
        confirmed = await stack.reply(citizen, lambda t: "đã được cập nhật lên hệ thống" in t, before)
        assert (
            "Tình trạng: Đã tiếp nhận hồ sơ" in confirmed and "Ngày hẹn trả kết quả: 17:00 ngày 05/12/2026" in confirmed
        )
        # From now on the follower is told of changes (at the public level: nothing was proven).
        before = len(stack.to_user(citizen))
        stack.publisher.publish(event("SUPPLEMENT_REQUESTED", sequence=2, dossier=code, recipients=owner("0912345601")))
        notice = await stack.reply(citizen, lambda t: t.startswith(f"Hồ sơ số {code} đã được cập nhật."), before)
        assert not any(p in notice for p in PRIVATE), notice


async def test_a_stranger_sees_no_personal_details_by_lookup_or_by_follow(stack_settings: Settings):
    code, stranger, phone = code_for(2), user_id(), "0912345602"
    async with live(stack_settings) as stack:
        stack.publisher.publish(event("SUPPLEMENT_REQUESTED", sequence=1, dossier=code, recipients=owner(phone)))
        looked = await stack.ask(stranger, f"TC:{code}", lambda t: "Tình trạng:" in t, timeout=180)
        assert "Sở Xây dựng Quảng Ninh" in looked and "05/12/2026" in looked
        assert not any(p in looked for p in PRIVATE), looked
        followed = await stack.ask(stranger, f"DK {code}", lambda t: t.startswith("Đã đăng ký"))
        assert not any(p in followed for p in PRIVATE), followed
        before = len(stack.to_user(stranger))
        stack.publisher.publish(event("DUE_DATE_EXTENDED", sequence=2, dossier=code, recipients=owner(phone)))
        notice = await stack.reply(stranger, lambda t: "12/12/2026" in t, before)
        assert not any(p in notice for p in PRIVATE), notice
        # The owner's phone got the full notice.
        await stack.phone_gets("84" + phone[1:], lambda d: d.get("ten_nguoi_dan") == OWNER_NAME)


async def test_a_stranger_who_types_the_owners_phone_cannot_stop_the_owners_notices(stack_settings: Settings):
    code, stranger, phone = code_for(3), user_id(), "0912345603"
    phone84 = "84" + phone[1:]
    async with live(stack_settings) as stack:
        stack.publisher.publish(event("RECEIVED", sequence=1, dossier=code, recipients=owner(phone)))
        await stack.phone_gets(phone84, lambda d: d.get("ma_ho_so") == code, timeout=180)
        before = len(stack.to_user(stranger))
        submitted = {
            "sender": {"id": stranger},
            "recipient": {"id": OA_ID},
            "event_name": "user_submit_info",
            "info": {"name": OWNER_NAME, "phone": phone, "address": "Hạ Long"},
        }
        assert await stack.post(submitted) == 200
        refused = await stack.reply(stranger, lambda t: "xác thực" in t, before)
        assert "không được dùng để xác thực" in refused
        await stack.ask(stranger, "Hủy tất cả", lambda t: t.startswith("Đã dừng"))
        await stack.ask(stranger, f"Hủy đăng ký {code}", lambda t: t.startswith("Đã dừng"))
        stack.publisher.publish(event("SUPPLEMENT_REQUESTED", sequence=2, dossier=code, recipients=owner(phone)))
        notice = await stack.phone_gets(phone84, lambda d: d.get("trang_thai") == "Cần bổ sung hồ sơ")
        assert notice["ten_nguoi_dan"] == OWNER_NAME and "Bản vẽ thiết kế" in notice["noi_dung"]


async def test_an_address_shared_through_the_form_brings_that_communes_alerts_and_nothing_else(
    stack_settings: Settings,
):
    """Careless addresses in Zalo's information form place each citizen like ``THEO DOI`` would; an alert to
    one commune reaches the citizen placed there, not one placed in another province or one left unplaced."""
    ba_dinh, bai_chay, nowhere = user_id(), user_id(), user_id()
    async with live(stack_settings) as stack:

        async def share(user: str, info: dict, expect: str) -> str:
            before = len(stack.to_user(user))
            submitted = {"sender": {"id": user}, "recipient": {"id": "hoso-demo-oa"}, "event_name": "user_submit_info"}
            async with asyncio.timeout(60):
                while await stack.post({**submitted, "info": info}) != 200:  # 503 while topics elect leaders
                    await asyncio.sleep(1)
            return await stack.reply(user, lambda t: expect in t, before, timeout=180)

        placed = await share(
            ba_dinh,
            {"name": OWNER_NAME, "phone": "0912345699", "address": "so 9 ngo 4,P.Ba Dinh, Q.Ba Dinh ,ha noi"},
            "đã được đăng ký nhận tin",
        )
        assert "nhận tin từ chính quyền về: phường Ba Đình." in placed
        assert "không được dùng để xác thực" in placed and "0912345699" not in placed
        await share(bai_chay, {"address": "Bai Chay, Quang Ninh"}, "phường Bãi Cháy")
        unplaced = await share(nowhere, {"address": "so 5 duong Bai Chay", "phone": ""}, "Chưa xác định")
        assert "THEO DOI <tên xã, phường hoặc tỉnh>" in unplaced
        alert = f"Ngập sâu tại phường Ba Đình ({secrets.token_hex(3)}). Đề nghị người dân hạn chế đi lại."
        publish_broadcast(
            kafka_python(stack.settings),
            stack.settings.topics,
            Broadcast.model_validate(
                {
                    "broadcast_id": f"ba-dinh-{secrets.token_hex(4)}",
                    "area_level": "COMMUNE",
                    "area_code": "00004",
                    "text": alert,
                    "issued_by": "UBND phường Ba Đình",
                    "issued_at": now_vn().isoformat(),
                    "priority": "EMERGENCY",
                }
            ),
        )
        await stack.reply(ba_dinh, lambda t: alert in t, 0, timeout=120)
        await asyncio.sleep(3)
        assert not any(alert in t for t in stack.to_user(bai_chay) + stack.to_user(nowhere))
        assert sum(alert in t for t in stack.to_user(ba_dinh)) == 1


async def prove_by_otp(stack: Live, citizen: str, code: str, phone84: str) -> str:
    codes_before = len([d for d in stack.to_phone(phone84) if "otp" in d])
    sent = await stack.ask(citizen, f"Xác thực {code}", lambda t: "Mã xác thực" in t, timeout=180)
    assert "đã được gửi qua Zalo đến số điện thoại đăng ký" in sent
    async with asyncio.timeout(60):
        while len(codes := [d for d in stack.to_phone(phone84) if "otp" in d]) <= codes_before:
            await asyncio.sleep(0.2)
    otp = codes[-1]["otp"]
    assert otp not in "".join(stack.to_user(citizen))  # the code reaches the phone's account only
    return await stack.ask(citizen, otp, lambda t: t.startswith("Xác thực thành công"))


async def test_the_owner_after_the_otp_round_trip_gets_full_notices(stack_settings: Settings):
    code, citizen, phone = code_for(4), user_id(), "0912345604"
    phone84 = "84" + phone[1:]
    async with live(stack_settings) as stack:
        stack.publisher.publish(event("RECEIVED", sequence=1, dossier=code, recipients=owner(phone)))
        # A wrong code first: refused, nothing followed.
        await stack.ask(citizen, f"XN {code}", lambda t: "Mã xác thực" in t, timeout=180)
        wrong = await stack.ask(citizen, "000000", lambda t: "không đúng" in t)
        assert "XN " + code in wrong
        proven = await prove_by_otp(stack, citizen, code, phone84)
        assert "Cấp giấy phép xây dựng" in proven
        before = len(stack.to_user(citizen))
        stack.publisher.publish(event("SUPPLEMENT_REQUESTED", sequence=2, dossier=code, recipients=owner(phone)))
        notice = await stack.reply(citizen, lambda t: "Bản vẽ thiết kế" in t, before)
        assert notice.startswith(f"Kính gửi Ông/Bà,\nHồ sơ số {code} (Cấp giấy phép xây dựng)")
        assert "\n- Bản vẽ thiết kế\n- Bản sao CCCD\n" in notice and "Lý do: Thiếu bản vẽ thiết kế" in notice


async def test_an_oa_unfollow_leaves_phone_notices_running(stack_settings: Settings):
    code, citizen, phone = code_for(5), user_id(), "0912345605"
    phone84 = "84" + phone[1:]
    async with live(stack_settings) as stack:
        stack.publisher.publish(event("RECEIVED", sequence=1, dossier=code, recipients=owner(phone)))
        await prove_by_otp(stack, citizen, code, phone84)
        unfollow = {"oa_id": OA_ID, "follower": {"id": citizen}, "event_name": "unfollow", "source": "oa"}
        assert await stack.post(unfollow) == 200
        # The unfollow is applied before the look-up behind it (one citizen's events stay in order); once the
        # look-up is answered, the chat follow is gone.
        await stack.ask(citizen, f"TC {code}", lambda t: "Tình trạng:" in t)
        chat_before = len(stack.to_user(citizen))
        await asyncio.sleep(2)
        stack.publisher.publish(event("PAYMENT_REQUESTED", sequence=2, dossier=code, recipients=owner(phone)))
        notice = await stack.phone_gets(phone84, lambda d: d.get("trang_thai") == "Cần nộp phí, lệ phí")
        assert "150.000 đồng" in notice["noi_dung"]
        await asyncio.sleep(3)
        assert not any("150.000" in t for t in stack.to_user(citizen)[chat_before:]), "OA chat went on after unfollow"
