"""The catalogue of error texts: every error code the code base can answer with has its meaning
in English and zh-CN, and every kind of invalid field reads in zh-CN."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sparecap.domain.availability import RuleViolation
from sparecap.domain.error_names import ERRORS, PROBLEMS_ZH, error_title, problem_text
from sparecap.domain.names import LANGUAGES

HAN = re.compile(r"[\u4e00-\u9fff]")
SOURCE = Path(__file__).resolve().parents[2] / "src" / "sparecap"
# How the code base names an error code: a keyword or class attribute, the first argument of a
# domain error (LifecycleError("quote_closed", ...)), an API error body, the HTTP status table.
CODE_PATTERNS = [
    re.compile(r'\bcode\s*=\s*"([a-z][a-z_0-9]*)"'),
    re.compile(r'[A-Za-z]*Error\(\s*"([a-z][a-z_0-9]*)"\s*,'),
    re.compile(r'error_body\(\s*"([a-z][a-z_0-9]*)"'),
    re.compile(r'\b\d{3}: "([a-z][a-z_0-9]*)"'),
    re.compile(r'\.get\(exc\.status_code, "([a-z][a-z_0-9]*)"\)'),
]


def codes_in_source() -> set[str]:
    found: set[str] = set()
    for path in SOURCE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for pattern in CODE_PATTERNS:
            found.update(pattern.findall(text))
    return found


def test_the_source_scan_finds_the_codes_it_should() -> None:
    # The scan is the test's eyes: if a pattern broke, the coverage test below would pass blind.
    found = codes_in_source()
    assert {"unknown_booking", "quote_closed", "body_too_large", "method_not_allowed"} <= found
    assert {"http_error", "capacity_conflict", "insufficient_funds", "conflict"} <= found


def test_every_error_code_has_its_meaning_in_both_languages() -> None:
    # Booking rules answer with the violation's value as their code.
    codes = codes_in_source() | {v.value for v in RuleViolation}
    assert sorted(codes - ERRORS.keys()) == []
    for code, text in ERRORS.items():
        assert set(text) == set(LANGUAGES), code
        assert text["en"][0].isupper() and text["en"].endswith("."), code
        assert text["en"].isascii(), code
        assert HAN.search(text["zh-CN"]) and text["zh-CN"].endswith("。"), code


def test_an_unknown_code_reads_as_its_kind_and_a_title_is_a_copy() -> None:
    assert error_title("some_new_conflict", "conflict") == ERRORS["conflict"]
    assert error_title("some_new_code", "some_new_kind") == ERRORS["error"]
    error_title("unknown_booking")["en"] = "changed"
    assert ERRORS["unknown_booking"]["en"] == "No such booking."


class Form(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quantity: int = Field(gt=0)
    name: str = Field(max_length=3)


def problems_of(data: object) -> dict[str, dict[str, str]]:
    with pytest.raises(ValidationError) as caught:
        Form.model_validate(data)
    return {
        ".".join(map(str, e["loc"])): problem_text(e["type"], e["msg"], e.get("ctx"))
        for e in caught.value.errors()
    }


def test_pydantic_problems_read_in_zh_cn_with_their_limits() -> None:
    problems = problems_of({"quantity": 0, "name": "long", "colour": "red"})
    assert problems["quantity"] == {
        "en": "Input should be greater than 0",
        "zh-CN": "应大于 0",
    }
    assert problems["name"]["zh-CN"] == "最多只能有 3 个字符"
    assert problems["colour"]["zh-CN"] == "不认识的字段"
    assert problems_of({"name": "a"})["quantity"]["zh-CN"] == "缺少必填字段"
    assert problems_of({"quantity": "x", "name": "a"})["quantity"]["zh-CN"] == "应为整数"


def test_an_unlisted_problem_keeps_its_english_behind_a_heading() -> None:
    text = problem_text("value_error", "Value error, the end must follow the start", {})
    assert text == {
        "en": "Value error, the end must follow the start",
        "zh-CN": "取值无效：the end must follow the start",
    }
    # A template whose limit is missing from the context falls back the same way.
    assert problem_text("greater_than", "too small", {})["zh-CN"] == "取值无效：too small"
    assert all(HAN.search(template) for template in PROBLEMS_ZH.values())
