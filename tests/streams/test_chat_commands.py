"""Citizens' chat commands as they are really typed: diacritics or none, long and short forms, punctuation,
polite words around the code. Each row is one message a citizen could send and the command it must give."""

from __future__ import annotations

import pytest

from streams.chat_commands import SPELLINGS, Command, Verb, fold, parse

CODE = "000.00.49.H22-261128-0001"
LOWER = CODE.lower()

DK = Command(Verb.FOLLOW, CODE)
TC = Command(Verb.LOOKUP, CODE)
HUY = Command(Verb.STOP, CODE)
HUY_ALL = Command(Verb.STOP)

MESSAGES: list[tuple[str, Command]] = [
    # follow
    (f"DK {CODE}", DK),
    (f"dk {LOWER}", DK),
    (f"  dk   {LOWER}  ", DK),
    (f"Đăng ký {CODE}", DK),
    (f"đăng kí {CODE}", DK),
    (f"dang ky {CODE}", DK),
    (f"dang ki {LOWER}", DK),
    (f"ĐK {CODE}", DK),
    (f"đk {CODE}", DK),
    (f"DK {CODE} cảm ơn", DK),
    (f"DK {CODE} cam on ạ", DK),
    (f"DK: {CODE}", DK),
    (f"DK:{CODE}", DK),
    (f"Đăng ký hồ sơ {CODE}", DK),
    (f"Đăng ký theo dõi hồ sơ số {CODE} giúp em", DK),
    (f"dangky {CODE}!", DK),
    (f"DK {CODE}.", DK),
    ("DK 000.00.49.H22 -261128-0001", DK),
    ("Đăng ký", Command(Verb.FOLLOW, problem="missing")),
    ("DK ???", Command(Verb.FOLLOW, problem="invalid")),
    ("dk hồ sơ của tôi", Command(Verb.FOLLOW, problem="missing")),
    # look up
    (f"TC {CODE}", TC),
    (f"TC:{CODE}", TC),
    (f"tc: {LOWER}", TC),
    (f"tc #{CODE}", TC),
    (f"TRA CỨU {CODE}.", TC),
    (f"Tra cứu hồ sơ {CODE}", TC),
    (f"tra cuu ho so {LOWER}", TC),
    (f"Tra cứu hồ sơ số: {CODE} ạ", TC),
    (f"tracuu {CODE}", TC),
    (f"Kiểm tra hồ sơ {CODE}", TC),
    (f"Xem hồ sơ ({CODE})", TC),
    (f"{CODE}", TC),
    (f"{LOWER} cảm ơn", TC),
    ("tc", Command(Verb.LOOKUP, problem="missing")),
    ("Tra cứu hồ sơ", Command(Verb.LOOKUP, problem="missing")),
    # stop
    (f"Hủy {CODE}", HUY),
    (f"HUỶ {CODE}", HUY),
    (f"huỷ {LOWER}", HUY),
    (f"huy dk {CODE}", HUY),
    (f"Hủy đăng ký {CODE}", HUY),
    (f"Hủy đăng ký hồ sơ {CODE} nhé", HUY),
    (f"Dừng nhận thông báo {CODE}", HUY),
    ("huy", HUY_ALL),
    ("  HỦY  ", HUY_ALL),
    ("Hủy đăng ký", HUY_ALL),
    ("Huy dang ky", HUY_ALL),
    ("Hủy tất cả", HUY_ALL),
    ("huy tat ca", HUY_ALL),
    ("Hủy đăng kí ạ", HUY_ALL),
    ("Ngừng nhận thông báo", HUY_ALL),
    ("HUY ???", Command(Verb.STOP, problem="invalid")),
    # prove
    (f"XN {CODE}", Command(Verb.PROVE, CODE)),
    (f"Xác thực {CODE}", Command(Verb.PROVE, CODE)),
    (f"xac thuc {LOWER} 482913", Command(Verb.PROVE, CODE, secret="482913")),
    (f"XN {CODE} mã 482913", Command(Verb.PROVE, CODE, secret="482913")),
    (f"XN:{CODE} 6789", Command(Verb.PROVE, CODE, secret="6789")),
    ("482913", Command(Verb.PROVE, secret="482913")),
    (" 482913. ", Command(Verb.PROVE, secret="482913")),
    ("xn", Command(Verb.PROVE, problem="missing")),
    # anything else
    ("Đúng rồi", Command(Verb.HELP)),
    ("xin chào", Command(Verb.HELP)),
    ("Cảm ơn", Command(Verb.HELP)),
    ("", Command(Verb.HELP)),
    ("DKX 123", Command(Verb.HELP)),
    ("12", Command(Verb.HELP)),
]


@pytest.mark.parametrize(("text", "expected"), MESSAGES)
def test_each_message_gives_its_command(text: str, expected: Command):
    assert parse(text) == expected


def test_the_table_covers_at_least_forty_real_messages_of_every_verb():
    assert len(MESSAGES) >= 40
    assert {c.verb for _, c in MESSAGES} == set(Verb)


def test_parse_tolerates_none_and_decomposed_text():
    assert parse(None) == Command(Verb.HELP)
    import unicodedata

    assert parse(unicodedata.normalize("NFD", f"Hủy đăng ký {CODE}")) == HUY


def test_folding_removes_marks_and_d_stroke():
    assert fold("  Đăng   kÝ hồ sơ ") == "DANG KY HO SO"


def test_every_spelling_reaches_its_own_verb():
    for verb, spellings in SPELLINGS.items():
        for spelling in spellings:
            assert parse(" ".join(spelling) + f" {CODE}").verb is verb, spelling
