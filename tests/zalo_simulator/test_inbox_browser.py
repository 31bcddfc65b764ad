"""The inbox page in a real browser: headless Debian Chromium driven by Selenium, no browser download.

The simulator runs as its own process and posts delivery receipts to a small webhook that says 200, as
the OA's receiver would. The test sends what the pipeline sends (ZNS template cards by phone, OA text to a
Zalo user, an area alert), reports what the citizen typed, and reads the page as a person would: columns,
cards, bubbles, receipts, the dossier filter. It saves a screenshot; with HOSO_UPDATE_SCREENSHOT=1 it also
writes the README's ``docs/img/zalo-inbox.png``.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from hosoctl.processes import Process, free_port, wait_for_port
from zalo_simulator import DEMO_OA

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
selenium = pytest.importorskip("selenium", reason="selenium is not installed (make install adds it)")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="no Chromium here: apt-get install -y chromium chromium-driver (.ci/run does)",
)

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "zalo-inbox.png"
LAN = "0912345678"
MINH = "0987001122"
ZALO_USER = "5830000000000000042"
DOSSIER_LAN = "000.00.49.H22-261128-0007"
DOSSIER_MINH = "000.00.12.H56-261127-0031"


class _Ok(BaseHTTPRequestHandler):
    """The OA's webhook, reduced to taking every receipt."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"ok": true}')

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[str]:
    webhook = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=webhook.serve_forever, daemon=True).start()
    port = free_port()
    args = ["simulator", "--port", str(port), "--webhook-url", f"http://127.0.0.1:{webhook.server_port}/"]
    proc = Process("simulator", args, {}, tmp_path / "simulator.log").start()
    try:
        wait_for_port(port, 30, proc.popen)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.stop()
        webhook.shutdown()


def card(phone: str, template: str, name: str, dossier: str, status: str, body: str, tracking: str) -> dict[str, Any]:
    return {
        "phone": phone,
        "template_id": template,
        "tracking_id": tracking,
        "template_data": {
            "ten_nguoi_dan": name,
            "ma_ho_so": dossier,
            "trang_thai": status,
            "don_vi": "Trung tâm Phục vụ hành chính công tỉnh Quảng Ninh",
            "ngay_hen_tra": "05/12/2026",
            "noi_dung": body,
        },
    }


def send_traffic(url: str) -> None:
    """What the pipeline would send for two dossiers, a chat and an alert."""
    token = {"access_token": DEMO_OA.access_token}
    with httpx.Client(base_url=url, timeout=10, headers=token) as http:
        sends = [
            card(LAN, "hoso-received", "Nguyễn Thị Lan", DOSSIER_LAN, "Đã tiếp nhận hồ sơ",
                 "Hồ sơ cấp giấy phép xây dựng của bà đã được tiếp nhận.", "t-lan-1"),
            card(LAN, "hoso-supplement-requested", "Nguyễn Thị Lan", DOSSIER_LAN, "Cần bổ sung giấy tờ",
                 "Vui lòng bổ sung: Bản vẽ thiết kế (bản chính).", "t-lan-2"),
            card(MINH, "hoso-result-ready", "Trần Văn Minh", DOSSIER_MINH, "Đã có kết quả",
                 "Mời ông đến nhận kết quả tại quầy số 3.", "t-minh-1"),
            {"phone": MINH, "template_id": "hoso-alert", "tracking_id": "t-minh-alert",
             "template_data": {"ten_nguoi_dan": "Trần Văn Minh",
                               "noi_dung": "Bão số 9: tạm dừng tiếp nhận hồ sơ trực tiếp ngày 30/11."}},
        ]  # fmt: skip
        for body in sends:
            assert http.post("/message/template", json=body).json()["error"] == 0
        http.post("/_sim/typed", json={"user_id": ZALO_USER, "text": f"DK {DOSSIER_LAN}"}).raise_for_status()
        # The answer is stamped a second before the line it answers (as a tie in one millisecond, or a shifted
        # clock, can make it): the page must still show the chat in the order it happened.
        http.post("/_sim/clock", json={"shift_s": -1}).raise_for_status()
        reply = {"recipient": {"user_id": ZALO_USER}, "message": {"text": f"Đã đăng ký nhận tin hồ sơ {DOSSIER_LAN}."}}
        assert http.post("/v3.0/oa/message/cs", json=reply).json()["error"] == 0


def chromium() -> Any:
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1400,900",
        "--lang=vi-VN",
    ):
        options.add_argument(flag)
    return options


def until(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = predicate()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_the_inbox_shows_each_citizen_their_cards_chat_and_receipts_live(simulator: str, tmp_path: Path) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    options = chromium()
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    try:
        driver.get(f"{simulator}/_sim/inbox")
        until(lambda: "Chưa có tin nhắn" in driver.find_element(By.ID, "empty").text, 20, "the empty state")
        send_traffic(simulator)  # after the page loaded: it must update by itself

        def columns() -> dict[str, str]:
            return {c.get_attribute("data-recipient"): c.text for c in driver.find_elements(By.CSS_SELECTOR, ".column")}

        until(lambda: len(columns()) == 3, 20, "one column per citizen")
        # Receipts arrive about a second after each send, and the page shows them without a reload.
        until(lambda: len(driver.find_elements(By.CSS_SELECTOR, ".receipt.delivered")) >= 5, 20, "delivery receipts")
        until(lambda: "đã báo webhook" in columns().get("84912345678", ""), 20, "the webhook took the receipt")
        cols = columns()
        lan = cols["84912345678"]
        assert "Nguyễn Thị Lan" in lan and "0912 345 678" in lan
        assert "Cần bổ sung giấy tờ" in lan and "Bản vẽ thiết kế" in lan and DOSSIER_LAN in lan
        assert "Trần Văn Minh" not in lan
        minh = cols["84987001122"]
        assert "Đã có kết quả" in minh and "Cảnh báo khu vực" in minh and "Bão số 9" in minh
        chat = cols[ZALO_USER]
        assert chat.index(f"DK {DOSSIER_LAN}") < chat.index("Đã đăng ký nhận tin hồ sơ"), "typed line, then answer"
        cards = driver.find_elements(By.CSS_SELECTOR, ".card")
        assert len(cards) == 4 and len(driver.find_elements(By.CSS_SELECTOR, ".msg.user .bubble")) == 1
        driver.save_screenshot(str(tmp_path / "zalo-inbox.png"))
        if os.environ.get("HOSO_UPDATE_SCREENSHOT") == "1":
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            assert driver.save_screenshot(str(SCREENSHOT))

        # Filtering by a dossier code keeps only the citizens (and messages) about it.
        driver.find_element(By.ID, "filter").send_keys(DOSSIER_LAN)
        until(lambda: set(columns()) == {"84912345678", ZALO_USER}, 10, "the filter")
        assert "Trần Văn Minh" not in driver.find_element(By.ID, "columns").text
        assert driver.find_element(By.ID, "summary").text.startswith("2 người nhận · 3 tin từ OA")
    finally:
        driver.quit()


def test_template_data_is_shown_as_text_never_as_markup(simulator: str, tmp_path: Path) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    hostile = "<img src=x onerror=\"document.title='pwned'\">"
    with httpx.Client(base_url=simulator, timeout=10, headers={"access_token": DEMO_OA.access_token}) as http:
        body = card(LAN, "hoso-received", hostile, DOSSIER_LAN, "Đã tiếp nhận", hostile, "t-x")
        assert http.post("/message/template", json=body).json()["error"] == 0
    options = chromium()
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    try:
        driver.get(f"{simulator}/_sim/inbox")
        until(lambda: driver.find_elements(By.CSS_SELECTOR, ".card"), 20, "the card")
        assert hostile in driver.find_element(By.CSS_SELECTOR, ".card").text
        assert not driver.find_elements(By.CSS_SELECTOR, ".card img") and driver.title != "pwned"
    finally:
        driver.quit()
