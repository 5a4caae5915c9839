"""The status page names booking statuses from the shared catalogue: zh-CN names, English codes."""

from __future__ import annotations

from sparecap.web.status import render_status_page


def test_booking_statuses_are_named_in_the_page_language() -> None:
    counts = {"participants": 1, "resources": 1, "units": 1, "bookings": 3}
    by_status = {"in_use": 2, "no_show": 1}
    chinese = render_status_page("zh-CN", counts, by_status, "sqlite")
    english = render_status_page("en", counts, by_status, "sqlite")
    assert "<td>使用中</td><td>2</td>" in chinese and "<td>未到场</td><td>1</td>" in chinese
    assert "<td>in_use</td><td>2</td>" in english and "<td>no_show</td><td>1</td>" in english
