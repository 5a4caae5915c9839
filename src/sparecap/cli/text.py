"""What the `sparecap` commands and the shared error lines say, in English and zh-CN: the
`demand`, `quote` and `match` texts here, the operator's commands' (`demo`, `db`, `operator`,
`resources`, `timers`, `money`, `ledger`) in text_ops.py, merged into one MESSAGES.

The language follows the locale, as command-line tools do: SPARECAP_LANG if set, else the
first of LC_ALL, LC_MESSAGES and LANG that is set (POSIX order); a value starting with "zh"
(zh_CN.UTF-8, zh-CN) picks zh-CN, anything else English. In lines of text, codes (statuses,
reasons, error codes) stay beside their translation, so searches for them keep working.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from sparecap.cli.text_ops import OPS_MESSAGES, OPS_NAMES_ZH
from sparecap.domain.error_names import error_title, problem_text
from sparecap.domain.names import (
    BOOKING_STATUSES,
    DEMAND_STATUSES,
    PAYMENT_STATUSES,
    QUANTITY_UNITS,
    QUOTE_STATUSES,
    REASONS,
    names_in,
)

LOCALE_VARIABLES = ("SPARECAP_LANG", "LC_ALL", "LC_MESSAGES", "LANG")

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "cannot_open": "cannot open the database:",
        "no_database": "no database at {path} (sparecap db upgrade creates one)",
        "demand": "demand {id}: {status}, {done}/{quantity} {unit}",
        "match": "match {id}: booking {booking} on unit {unit}, {window}, cost {cost}",
        "miss": "round {round}: unmatched: {reason} {detail}",
        "lapsed": "  lapsed: its booking {status}, the quantity went back to the demand",
        "round": "round {id}: {matched}/{demands} demands matched, objective {objective}, "
        "lost races {lost}",
        "miss_count": "unmatched: {reason}: {count}",
        "headers": "id|status|quantity|deadline|ceiling|last reason",
        "error": "error: {message}",
        "no_file": "no such file: {file}",
        "cannot_read": "cannot read {file}: {reason}",
        "cannot_solve": "cannot solve {file}: {reason}",
        "time_limit": "--time-limit must be a positive number of seconds",
        "index_one": "--index {index} is out of range: {name} holds one problem",
        "index_many": "--index {index} is out of range: {name} holds {count} problems (0-based)",
        "why": "unmatched: {reason}: {message}",
        "match_row": "match {id} on demand {demand} ({via}): booking {booking} on unit {unit}, "
        "{quantity} for {price} {currency}, {window}",
        "via_round": "round {id}",
        "via_quote": "quote {id}",
        "round_row": "round {id} ({kind}, {at}): {matched}/{demands} demands matched, "
        "objective {objective}, lost races {lost}",
        "no_matches": "no matches",
        "no_rounds": "no rounds",
        "no_quotes": "no quotes",
        "quote": "quote {id} on demand {demand} by participant {author}: {status}, "
        "resource {resource}, unit {unit}, {quantity} for {price} {currency}, {window}",
        "any_unit": "any",
        "counters": "  counters quote {parent}",
        "booked": "  booking {booking}",
        "note": "  note: {note}",
        "attr_pair": "--attr: expected key=value, got {value!r}",
        "attr_json": "--attributes: expected a JSON object ({reason})",
        "notice": "notification {id} ({at}{unread}): {text}",
        "unread": ", unread",
        "no_notices": "no notifications",
        "marked": "{count} marked read",
        "one_or_up_to": "give one notification or --up-to, not both",
    },
    "zh-CN": {
        "cannot_open": "无法打开数据库：",
        "no_database": "数据库不存在：{path}（可用 sparecap db upgrade 创建）",
        "demand": "需求 {id}：{status}，已撮合 {done}/{quantity} {unit}",
        "match": "撮合 {id}：预订 {booking}，单元 {unit}，{window}，成本 {cost}",
        "miss": "第 {round} 轮：未撮合：{reason} {detail}",
        "lapsed": "  已失效：预订{status}，数量已退回需求",
        "round": "第 {id} 轮：{demands} 个需求中撮合 {matched} 个，目标值 {objective}，"
        "抢占失败 {lost} 次",
        "miss_count": "未撮合：{reason}：{count}",
        "headers": "编号|状态|数量|截止时间|限价|上次未撮合原因",
        "error": "错误：{message}",
        "no_file": "文件不存在：{file}",
        "cannot_read": "无法读取 {file}：{reason}",
        "cannot_solve": "无法求解 {file}：{reason}",
        "time_limit": "--time-limit 必须是正的秒数",
        "index_one": "--index {index} 超出范围：{name} 只有一个问题",
        "index_many": "--index {index} 超出范围：{name} 有 {count} 个问题（从 0 起编号）",
        "why": "未撮合：{reason}：{message}",
        "match_row": "撮合 {id}（需求 {demand}，{via}）：预订 {booking}，单元 {unit}，"
        "数量 {quantity}，价格 {price} {currency}，{window}",
        "via_round": "第 {id} 轮",
        "via_quote": "报价 {id}",
        "round_row": "第 {id} 轮（{kind}，{at}）：{demands} 个需求中撮合 {matched} 个，"
        "目标值 {objective}，抢占失败 {lost} 次",
        "no_matches": "没有撮合",
        "no_rounds": "没有撮合轮次",
        "no_quotes": "没有报价",
        "quote": "报价 {id}（需求 {demand}，由参与者 {author} 提出）：{status}，"
        "资源 {resource}，单元 {unit}，数量 {quantity}，总价 {price} {currency}，{window}",
        "any_unit": "任意",
        "counters": "  针对报价 {parent} 的还价",
        "booked": "  预订 {booking}",
        "note": "  备注：{note}",
        "attr_pair": "--attr：应为 键=值 的形式，收到 {value!r}",
        "attr_json": "--attributes：应为 JSON 对象（{reason}）",
        "notice": "通知 {id}（{at}{unread}）：{text}",
        "unread": "，未读",
        "no_notices": "没有通知",
        "marked": "已将 {count} 条标为已读",
        "one_or_up_to": "请指定一条通知或使用 --up-to，不能同时使用",
    },
}


def _merged(*catalogues: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """One MESSAGES from several; a key two catalogues both define is a mistake, not an override."""
    merged: dict[str, dict[str, str]] = {}
    for catalogue in catalogues:
        for lang, texts in catalogue.items():
            into = merged.setdefault(lang, {})
            if clash := into.keys() & texts.keys():
                raise ValueError(f"message keys defined twice: {sorted(clash)}")
            into.update(texts)
    return merged


MESSAGES = _merged(MESSAGES, OPS_MESSAGES)

# Demand and quote statuses, quantity units and the reasons a round gives for a miss
# (docs/matching.md). Booking statuses too: an explanation says which one ended a lapsed match.
# Payment statuses, the two kinds of round, witnesses' answers and a checkpoint's finality.
NAMES_ZH: dict[str, str] = {
    **names_in(
        "zh-CN",
        PAYMENT_STATUSES,
        DEMAND_STATUSES,
        BOOKING_STATUSES,
        QUOTE_STATUSES,
        QUANTITY_UNITS,
        REASONS,
    ),
    **OPS_NAMES_ZH,
    "batch": "批量",
    "instant": "即时",
}


def language() -> str:
    for variable in LOCALE_VARIABLES:
        value = os.environ.get(variable)
        if value:
            return "zh-CN" if value.lower().startswith("zh") else "en"
    return "en"


def say(key: str, /, **values: object) -> str:
    return MESSAGES[language()][key].format(**values)


def name(code: str) -> str:
    """A status, unit or reason: the code in English, its name and the code in zh-CN."""
    if language() == "zh-CN" and code in NAMES_ZH:
        return f"{NAMES_ZH[code]}（{code}）"
    return code


def short_name(code: str) -> str:
    """A status, unit or reason in a table cell or after a number: the name alone in zh-CN."""
    return NAMES_ZH.get(code, code) if language() == "zh-CN" else code


def refusal(code: str, message: str, kind: str = "error") -> str:
    """A service's refusal after its code: the English message, in zh-CN behind the code's
    meaning (a code without one reads as its kind's: the error class's own code)."""
    if language() == "zh-CN":
        return f"{error_title(code, kind)['zh-CN']}（{message}）"
    return message


def problem(kind: str, message: str, context: Mapping[str, Any] | None = None) -> str:
    """One invalid option's problem (pydantic's type, message and context) in the language."""
    return problem_text(kind, message, context)[language()]
