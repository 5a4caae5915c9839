"""What a notification says, in English and zh-CN: one template per kind, filled from its data.

A notification is stored as its kind and data (ids, status codes, instants); the sentence is
made when someone reads it, so every interface words it the same way and a mended translation
mends old notices too.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sparecap.domain.names import BOOKING_STATUSES, LANGUAGES, Text

# Who made a change, as the other side reads it.
ACTORS: Mapping[str, Text] = {
    "demander": {"en": "the demander", "zh-CN": "需求方"},
    "provider": {"en": "the provider", "zh-CN": "供应方"},
    "operator": {"en": "the operator", "zh-CN": "运营方"},
    "system": {"en": "the platform", "zh-CN": "平台"},
}

# Why a demand expired.
EXPIRY_CAUSES: Mapping[str, Text] = {
    "deadline": {"en": "its deadline passed", "zh-CN": "已过截止时间"},
    "unconfirmed_holds": {
        "en": "holds found for it lapsed unconfirmed too often",
        "zh-CN": "为其暂留的产能多次未经确认而失效",
    },
}

NOTICES: Mapping[str, Text] = {
    "booking.changed": {
        "en": "Booking {booking} (resource {resource}) went from {source} to {target}, by {actor}.",
        "zh-CN": "预订 {booking}（资源 {resource}）已由{actor}从“{source}”变为“{target}”。",
    },
    "match.held": {
        "en": "A matching round held capacity for your demand {demand}: booking {booking}, "
        "{start} to {end}. Confirm it before {expires}, or the hold lapses.",
        "zh-CN": "撮合已为您的需求 {demand} 暂留产能：预订 {booking}，{start} 至 {end}。"
        "请在 {expires} 之前确认，否则暂留将失效。",
    },
    "demand.expired": {
        "en": "Your demand {demand} expired: {cause}.",
        "zh-CN": "您的需求 {demand} 已过期：{cause}。",
    },
    "demand.reopened": {
        "en": "Your demand {demand} is open again: its booking {booking} ended {lapsed}, "
        "and later rounds look for capacity again.",
        "zh-CN": "您的需求 {demand} 已重新开放：其预订 {booking} 以“{lapsed}”结束，"
        "后续撮合将重新寻找产能。",
    },
    "demand.withdrawn": {
        "en": "Your demand {demand} was withdrawn by the operator.",
        "zh-CN": "您的需求 {demand} 已被运营方撤回。",
    },
    "demand.closed": {
        "en": "Your demand {demand} was closed by the operator.",
        "zh-CN": "您的需求 {demand} 已被运营方关闭。",
    },
    "quote.offered": {
        "en": "You have a quote {quote} on your demand {demand}.",
        "zh-CN": "您的需求 {demand} 收到报价 {quote}。",
    },
    "quote.countered": {
        "en": "Your quote {parent} on demand {demand} was answered with the counter-offer {quote}.",
        "zh-CN": "您在需求 {demand} 上的报价 {parent} 收到还价 {quote}。",
    },
    "quote.accepted": {
        "en": "Quote {quote} on demand {demand} was accepted: booking {booking}.",
        "zh-CN": "需求 {demand} 的报价 {quote} 已被接受：预订 {booking}。",
    },
    "quote.declined": {
        "en": "Quote {quote} on demand {demand} was declined.",
        "zh-CN": "需求 {demand} 的报价 {quote} 已被拒绝。",
    },
    "quote.withdrawn": {
        "en": "Quote {quote} on demand {demand} was withdrawn.",
        "zh-CN": "需求 {demand} 的报价 {quote} 已被撤回。",
    },
    "quote.expired": {
        "en": "Quote {quote} on demand {demand} expired: the demand left the market.",
        "zh-CN": "需求 {demand} 的报价 {quote} 已失效：该需求已不在撮合中。",
    },
}

# Data fields that name something in words, and the table of those words.
_WORDS: Mapping[str, Mapping[str, Text]] = {
    "source": BOOKING_STATUSES,
    "target": BOOKING_STATUSES,
    "lapsed": BOOKING_STATUSES,
    "actor": ACTORS,
    "cause": EXPIRY_CAUSES,
}
# Data fields that hold an instant (ISO 8601), shown to the minute in UTC.
_INSTANTS = ("start", "end", "expires")


def render(kind: str, data: Mapping[str, Any]) -> dict[str, str]:
    """The notice in every language. A kind or word this catalogue does not know reads as its
    code rather than failing the whole inbox."""
    template = NOTICES.get(kind)
    if template is None:
        return dict.fromkeys(LANGUAGES, kind)
    texts = {}
    for language in LANGUAGES:
        values = {key: _shown(key, value, language) for key, value in data.items()}
        try:
            texts[language] = template[language].format(**values)
        except (KeyError, IndexError):
            texts[language] = kind
    return texts


def _shown(key: str, value: Any, language: str) -> Any:
    if key in _WORDS and isinstance(value, str):
        words = _WORDS[key].get(value)
        return words[language] if words else value
    if key in _INSTANTS and isinstance(value, str):
        try:
            return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        except ValueError:
            return value
    return value
