"""Typed answers to the satisfaction survey, as customers type them (informal Indonesian and English)."""

from __future__ import annotations

import pytest

from handlers.csat import Score, read_score


@pytest.mark.parametrize("typed, score", [
    ("5", 5), ("4", 4), ("1", 1), ("5/5", 5), ("4 dari 5", 4), ("nilai 3", 3), ("aku kasih 5 ya kak", 5),
    ("5 bintang", 5), ("⭐⭐⭐⭐", 4), ("😊", 5), ("😐", 3), ("😞", 1), ("👍", 4),
    ("bagus banget", 5), ("bgs bgt kak", 5), ("mantap", 5), ("mantul", 5), ("puas", 5), ("jossss", 5),
    ("bagus", 4), ("lumayan kak", 4), ("enak bgt kak 👍", 5), ("biasa aja", 3), ("b aja sih", 3), ("oke", 3),
    ("jelek", 2), ("kurang", 2), ("kurang puas", 2), ("ga bagus", 2), ("gk enak", 2), ("kecewa", 2),
    ("jelek bgt", 1), ("sangat kecewa", 1), ("parah", 1), ("bagus tapi lama", 3),
    ("great", 5), ("great service, thanks!", 5), ("the best!!", 5), ("good", 4), ("not bad", 4), ("ok", 3),
    ("not good", 2), ("bad", 2), ("terrible service", 1), ("very bad", 1),
])
def test_a_typed_score(typed, score):
    assert read_score(typed) == Score(score, None)


@pytest.mark.parametrize("typed, score", [("4 mantap", 4), ("5 bagus banget kak", 5), ("2 jelek", 2)])
def test_a_score_with_only_a_word_of_praise_or_blame_still_asks_for_the_comment(typed, score):
    assert read_score(typed) == Score(score, None)


@pytest.mark.parametrize("typed, score, comment", [
    ("5, kurirnya ramah banget", 5, "kurirnya ramah banget"),
    ("kopinya enak", 4, "kopinya enak"),
    ("lama banget nyampenya, kopinya dingin", 1, "lama banget nyampenya, kopinya dingin"),
    ("3 - croissantnya agak keras", 3, "croissantnya agak keras"),
])
def test_a_score_with_words_keeps_them_as_the_comment(typed, score, comment):
    assert read_score(typed) == Score(score, comment)


@pytest.mark.parametrize("typed", [
    "", "10", "5.000", "halo", "makasih kak", "thx", "🙏", "jam berapa tutup kak?", "ada promo ga",
    "mau pesan kopi yang enak dong", "can I order 2 lattes", "gimana ya, biasa aja",
    "kemarin aku beli kopi di cabang blok m terus dianterin sama kurir yang baik",
])
def test_not_a_score(typed):
    assert read_score(typed) is None
