"""Satisfaction answers as citizens type them: digits, words with or without marks, a comment after."""

from __future__ import annotations

import unicodedata

import pytest

from schemas.rating import RatingLevel
from streams.ratings import parse_rating

K, H, R = RatingLevel.KHONG_HAI_LONG, RatingLevel.HAI_LONG, RatingLevel.RAT_HAI_LONG


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("1", K),
        ("2", H),
        ("3", R),
        (" 3. ", R),
        ("số 3", R),
        ("so 2", H),
        ("Rất hài lòng", R),
        ("RẤT HÀI LÒNG!!", R),
        ("rat hai long", R),
        ("Không hài lòng", K),
        ("khong hai long", K),
        ("KHONG HAI LONG", K),
        ("chưa hài lòng", K),
        ("Hài lòng", H),
        ("hai long", H),
        ("Đánh giá: hài lòng", H),
        (unicodedata.normalize("NFD", "Rất hài lòng"), R),
    ],
)
def test_answers_on_the_three_level_scale_are_recognised(text, level):
    answer = parse_rating(text)
    assert answer is not None and answer.level is level


def test_not_satisfied_is_never_read_as_satisfied():
    assert parse_rating("không hài lòng vì phải đi lại 3 lần").level is K


def test_words_after_the_answer_are_the_comment_as_written():
    answer = parse_rating("3 - cán bộ nhiệt tình, trả kết quả sớm")
    assert (answer.level, answer.comment) == (R, "cán bộ nhiệt tình, trả kết quả sớm")
    assert parse_rating("Hài lòng").comment is None


@pytest.mark.parametrize(
    "text",
    ["", "   ", "4", "0", "12", "2 3", "DK 000.00.49.H22-261128-0001", "TC", "HUY", "long hai", "hai", "cam on", "?"],
)
def test_anything_else_is_not_a_rating(text):
    assert parse_rating(text) is None
