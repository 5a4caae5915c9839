"""The catalogue of names: every code an engine can put in front of a person has its words in
English and zh-CN, and every reason for a miss a sentence a demander understands."""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum

import pytest

from sparecap.domain.bookings import Status as BookingStatus
from sparecap.domain.demands import DemandStatus, QuantityUnit, QuoteStatus, UnmatchedReason
from sparecap.domain.names import (
    BOOKING_STATUSES,
    DEMAND_STATUSES,
    LANGUAGES,
    PAYMENT_STATUSES,
    QUANTITY_UNITS,
    QUOTE_STATUSES,
    REASON_EXPLANATIONS,
    REASONS,
    Text,
    names_in,
    reason_message,
)

HAN = re.compile(r"[\u4e00-\u9fff]")

TABLES: list[tuple[type[StrEnum], Mapping[str, Text]]] = [
    (DemandStatus, DEMAND_STATUSES),
    (BookingStatus, BOOKING_STATUSES),
    (QuantityUnit, QUANTITY_UNITS),
    (QuoteStatus, QUOTE_STATUSES),
    (UnmatchedReason, REASONS),
    (UnmatchedReason, REASON_EXPLANATIONS),
]


@pytest.mark.parametrize(("codes", "table"), TABLES)
def test_every_code_has_its_words_in_both_languages(
    codes: type[StrEnum], table: Mapping[str, Text]
) -> None:
    assert set(table) == {c.value for c in codes}
    for text in table.values():
        assert set(text) == set(LANGUAGES)
        assert text["en"].isascii() and text["en"].strip()
        assert HAN.search(text["zh-CN"])


@pytest.mark.parametrize("reason", list(UnmatchedReason))
def test_every_reason_is_one_sentence_in_each_language(reason: UnmatchedReason) -> None:
    message = reason_message(reason.value)
    assert set(message) == {"en", "zh-CN"}
    assert message["en"][0].isupper() and message["en"].endswith(".")
    assert message["en"].count(". ") == 0
    assert message["zh-CN"].endswith("。") and message["zh-CN"].count("。") == 1
    assert not HAN.search(message["en"]) and not re.search("[A-Za-z]", message["zh-CN"])


def test_a_message_is_a_copy_and_an_unknown_code_reads_as_itself() -> None:
    reason_message("lost_race")["en"] = "changed"
    assert reason_message("lost_race")["en"] != "changed"
    assert reason_message("some_new_code") == {"en": "some_new_code", "zh-CN": "some_new_code"}


def test_names_in_one_language_over_several_tables() -> None:
    zh = names_in("zh-CN", DEMAND_STATUSES, QUANTITY_UNITS)
    assert zh["open"] == "待撮合" and zh["hours"] == "小时" and "held" not in zh
    assert names_in("en", BOOKING_STATUSES)["in_use"] == "in use"


def test_payment_statuses_have_their_words_in_both_languages() -> None:
    assert {"pending", "authorized", "captured", "paid", "failed", "voided"} <= set(
        PAYMENT_STATUSES
    )
    for text in PAYMENT_STATUSES.values():
        assert set(text) == set(LANGUAGES) and text["en"].isascii()
        assert HAN.search(text["zh-CN"])
