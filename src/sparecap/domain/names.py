"""The names of the codes people see, and why a demand was missed, in English and zh-CN.

One catalogue for every interface (the CLI, the status page, the API's explanations), so a
status or a reason is named the same way wherever it appears. The codes themselves stay the
stable identifiers; these are only what a person reads beside them.
"""

from __future__ import annotations

from collections.abc import Mapping

from sparecap.domain.bookings import Status as BookingStatus
from sparecap.domain.demands import DemandStatus, QuantityUnit, QuoteStatus, UnmatchedReason

LANGUAGES: tuple[str, ...] = ("en", "zh-CN")

# A text in every language of LANGUAGES, by language tag.
Text = Mapping[str, str]

DEMAND_STATUSES: Mapping[str, Text] = {
    DemandStatus.OPEN: {"en": "open", "zh-CN": "待撮合"},
    DemandStatus.PARTIALLY_MATCHED: {"en": "partially matched", "zh-CN": "部分撮合"},
    DemandStatus.MATCHED: {"en": "matched", "zh-CN": "已撮合"},
    DemandStatus.CLOSED: {"en": "closed", "zh-CN": "已关闭"},
    DemandStatus.EXPIRED: {"en": "expired", "zh-CN": "已过期"},
    DemandStatus.WITHDRAWN: {"en": "withdrawn", "zh-CN": "已撤回"},
}

BOOKING_STATUSES: Mapping[str, Text] = {
    BookingStatus.HELD: {"en": "held", "zh-CN": "暂留"},
    BookingStatus.REQUESTED: {"en": "requested", "zh-CN": "待确认"},
    BookingStatus.CONFIRMED: {"en": "confirmed", "zh-CN": "已确认"},
    BookingStatus.IN_USE: {"en": "in use", "zh-CN": "使用中"},
    BookingStatus.COMPLETED: {"en": "completed", "zh-CN": "已完成"},
    BookingStatus.DECLINED: {"en": "declined", "zh-CN": "已拒绝"},
    BookingStatus.EXPIRED: {"en": "expired", "zh-CN": "已过期"},
    BookingStatus.CANCELLED: {"en": "cancelled", "zh-CN": "已取消"},
    BookingStatus.NO_SHOW: {"en": "no-show", "zh-CN": "未到场"},
}

QUOTE_STATUSES: Mapping[str, Text] = {
    QuoteStatus.OFFERED: {"en": "offered", "zh-CN": "待回应"},
    QuoteStatus.ACCEPTED: {"en": "accepted", "zh-CN": "已接受"},
    QuoteStatus.DECLINED: {"en": "declined", "zh-CN": "已拒绝"},
    QuoteStatus.COUNTERED: {"en": "countered", "zh-CN": "已还价"},
    QuoteStatus.WITHDRAWN: {"en": "withdrawn", "zh-CN": "已撤回"},
    QuoteStatus.EXPIRED: {"en": "expired", "zh-CN": "已失效"},
}

# A payment's or a payout's status (services/payments.py, services/escrow.py).
PAYMENT_STATUSES: Mapping[str, Text] = {
    "pending": {"en": "pending", "zh-CN": "处理中"},
    "authorized": {"en": "authorized", "zh-CN": "已授权"},
    "capturing": {"en": "capturing", "zh-CN": "扣款中"},
    "captured": {"en": "captured", "zh-CN": "已扣款"},
    "paid": {"en": "paid out", "zh-CN": "已打款"},
    "failed": {"en": "failed", "zh-CN": "失败"},
    "declined": {"en": "declined", "zh-CN": "已拒绝"},
    "voided": {"en": "voided", "zh-CN": "已撤销"},
}

QUANTITY_UNITS: Mapping[str, Text] = {
    QuantityUnit.HOURS: {"en": "hours", "zh-CN": "小时"},
    QuantityUnit.SLOTS: {"en": "slots", "zh-CN": "时段"},
    QuantityUnit.PIECES: {"en": "pieces", "zh-CN": "件"},
}

# Short names, for a table cell or a line of a report.
REASONS: Mapping[str, Text] = {
    UnmatchedReason.NO_CAPACITY_IN_RADIUS: {"en": "no capacity nearby", "zh-CN": "范围内没有产能"},
    UnmatchedReason.ATTRIBUTES_NOT_MET: {"en": "attributes not met", "zh-CN": "属性不符"},
    UnmatchedReason.NOT_ELIGIBLE: {"en": "not eligible", "zh-CN": "不具备资格"},
    UnmatchedReason.NO_COMPARABLE_PRICE: {"en": "priced otherwise", "zh-CN": "计价方式不符"},
    UnmatchedReason.ABOVE_PRICE_CEILING: {"en": "above price ceiling", "zh-CN": "高于限价"},
    UnmatchedReason.NO_FREE_WINDOW: {"en": "no free window", "zh-CN": "没有空闲时段"},
    UnmatchedReason.CANDIDATES_TAKEN: {"en": "candidates taken", "zh-CN": "候选已被占用"},
    UnmatchedReason.FAIRNESS_CAP: {"en": "fairness cap reached", "zh-CN": "达到公平上限"},
    UnmatchedReason.LOST_RACE: {"en": "lost the race", "zh-CN": "抢占失败"},
    UnmatchedReason.BELOW_MIN_LOT: {"en": "below minimum lot", "zh-CN": "低于最小批量"},
}

# One sentence each, addressed to the demander, saying what stood in the way. The filters run in
# this order (services/candidates.py), so each sentence may assume the ones before it passed.
REASON_EXPLANATIONS: Mapping[str, Text] = {
    UnmatchedReason.NO_CAPACITY_IN_RADIUS: {
        "en": "No capacity within the distance you set.",
        "zh-CN": "在您设定的距离内没有可用产能。",
    },
    UnmatchedReason.ATTRIBUTES_NOT_MET: {
        "en": "No capacity within your distance has the attributes you require.",
        "zh-CN": "您设定的距离内没有具备所需属性的产能。",
    },
    UnmatchedReason.NOT_ELIGIBLE: {
        "en": "The platform's eligibility rules do not let you book the capacity that fits.",
        "zh-CN": "根据平台的资格规则，您无法预订符合要求的产能。",
    },
    UnmatchedReason.NO_COMPARABLE_PRICE: {
        "en": "No capacity that fits is priced in your currency and unit (per piece or by time).",
        "zh-CN": "没有符合要求的产能以您的币种和计价单位（按件或按时间）报价。",
    },
    UnmatchedReason.ABOVE_PRICE_CEILING: {
        "en": "All capacity that fits costs more than your price ceiling.",
        "zh-CN": "所有符合要求的产能价格都高于您设定的限价。",
    },
    UnmatchedReason.NO_FREE_WINDOW: {
        "en": "No capacity that fits is free long enough between your earliest start "
        "and your deadline.",
        "zh-CN": "在您的最早开始时间与截止时间之间，没有符合要求的产能有足够的空闲时间。",
    },
    UnmatchedReason.CANDIDATES_TAKEN: {
        "en": "Other demands in this round took all the capacity that fits yours.",
        "zh-CN": "本轮中符合您需求的产能已全部分配给其他需求。",
    },
    UnmatchedReason.FAIRNESS_CAP: {
        "en": "The providers that could serve you have reached their share of this round.",
        "zh-CN": "能为您提供产能的供应方在本轮均已达到份额上限。",
    },
    UnmatchedReason.LOST_RACE: {
        "en": "Someone else booked the capacity chosen for you first, and no other was free.",
        "zh-CN": "为您选定的产能已先被他人预订，且没有其他空闲产能。",
    },
    UnmatchedReason.BELOW_MIN_LOT: {
        "en": "The capacity left for your order is less than your minimum lot.",
        "zh-CN": "可分配给您订单的剩余产能少于您设定的最小批量。",
    },
}


def names_in(language: str, *tables: Mapping[str, Text]) -> dict[str, str]:
    """code → name in one language, over the given tables (later tables win on a shared code)."""
    return {code: text[language] for table in tables for code, text in table.items()}


def reason_message(reason: str) -> dict[str, str]:
    """Why a demand was missed, a sentence in every language. A code this catalogue does not
    know (none is written today) reads as itself rather than failing the whole answer."""
    text = REASON_EXPLANATIONS.get(reason)
    return dict(text) if text is not None else dict.fromkeys(LANGUAGES, reason)


def in_every_language(template: Text, **values: object) -> dict[str, str]:
    """A template filled in each language; a value that is itself a Text (a mapping by
    language) gives each language its own words."""
    return {
        language: template[language].format(
            **{k: v[language] if isinstance(v, Mapping) else v for k, v in values.items()}
        )
        for language in LANGUAGES
    }
