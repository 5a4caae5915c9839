"""User-facing text in zh-CN and English, chosen from ?lang= or Accept-Language."""

from __future__ import annotations

from sparecap.domain.names import BOOKING_STATUSES, names_in

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "title": "Sparecap: spare capacity exchange",
        "tagline": "Idle production lines, machine hours, parking bays, chargers and working hours,"
        " shared by the hour.",
        "live": "Live status",
        "participants": "Participants",
        "resources": "Resources",
        "units": "Bookable units",
        "bookings": "Bookings",
        "by_status": "Bookings by status",
        "api_docs": "API documentation",
        "database": "Database",
        "other_language": "中文",
    },
    "zh-CN": {
        "title": "Sparecap 闲置产能共享平台",
        "tagline": "闲置生产线、机床工时、停车位、充电桩与闲时工时，按时共享。",
        "live": "实时状态",
        "participants": "参与方",
        "resources": "资源",
        "units": "可预订单元",
        "bookings": "预订",
        "by_status": "各状态预订数",
        "api_docs": "接口文档",
        "database": "数据库",
        "other_language": "English",
    },
}

# Booking statuses by language; English shows the code itself.
STATUS_NAMES: dict[str, dict[str, str]] = {"en": {}, "zh-CN": names_in("zh-CN", BOOKING_STATUSES)}


def pick_language(query_lang: str | None, accept_language: str | None) -> str:
    if query_lang in MESSAGES:
        return query_lang
    if accept_language and accept_language.lower().startswith("zh"):
        return "zh-CN"
    return "en"
