"""Notification texts: every kind the platform writes reads as a whole sentence in English and
zh-CN, with codes turned into words; unknown kinds and words read as their codes."""

from __future__ import annotations

import re

import pytest

from sparecap.domain.notices import NOTICES, render
from sparecap.services import notifications

HAN = re.compile(r"[\u4e00-\u9fff]")
SAMPLE = {
    "booking": 34,
    "resource": 5,
    "demand": 12,
    "quote": 7,
    "parent": 6,
    "source": "requested",
    "target": "confirmed",
    "lapsed": "declined",
    "actor": "provider",
    "cause": "deadline",
    "status": "open",
    "start": "2026-03-03T02:00:00+00:00",
    "end": "2026-03-03T03:00:00+00:00",
    "expires": "2026-03-03T10:15:00+08:00",
}


def test_every_kind_the_service_writes_has_its_words() -> None:
    written = {
        "booking.changed",
        "match.held",
        *notifications.DEMAND_NOTICES.values(),
        *notifications.QUOTE_NOTICES.values(),
    }
    assert written == set(NOTICES)


@pytest.mark.parametrize("kind", sorted(NOTICES))
def test_each_kind_is_one_sentence_in_each_language(kind: str) -> None:
    text = render(kind, SAMPLE)
    assert text["en"][0].isupper() and text["en"].endswith(".") and text["en"].isascii()
    assert HAN.search(text["zh-CN"]) and text["zh-CN"].endswith("。")
    assert "{" not in text["en"] + text["zh-CN"]
    for code in ("requested", "confirmed", "declined", "provider", "deadline"):
        assert code not in text["zh-CN"]


def test_codes_become_words_and_instants_utc_minutes() -> None:
    changed = render("booking.changed", SAMPLE)
    assert changed["en"] == (
        "Booking 34 (resource 5) went from requested to confirmed, by the provider."
    )
    assert changed["zh-CN"] == "预订 34（资源 5）已由供应方从“待确认”变为“已确认”。"
    held = render("match.held", SAMPLE)
    assert "Confirm it before 2026-03-03 02:15 UTC" in held["en"]  # +08:00 read as UTC
    assert "请在 2026-03-03 02:15 UTC 之前确认" in held["zh-CN"]


def test_what_the_catalogue_does_not_know_reads_as_its_code() -> None:
    assert render("parcel.lost", SAMPLE) == {"en": "parcel.lost", "zh-CN": "parcel.lost"}
    odd = render("booking.changed", {**SAMPLE, "target": "teleported"})
    assert "to teleported" in odd["en"] and "“teleported”" in odd["zh-CN"]
    # Data missing a field the template needs: the kind, not a half-filled sentence.
    assert render("quote.accepted", {"quote": 1}) == {
        "en": "quote.accepted",
        "zh-CN": "quote.accepted",
    }
