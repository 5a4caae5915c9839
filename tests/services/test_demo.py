"""The demo market seeds through the ordinary use cases on both databases and tells its stories."""

from __future__ import annotations

from sqlalchemy import func, select

from sparecap.bootstrap import Platform
from sparecap.db.demands import Match, Unmatched
from sparecap.db.models import Booking
from sparecap.services.demo import seed_demo


def test_the_demo_matches_two_demands_and_explains_the_third(platform: Platform) -> None:
    with platform.db.write() as s:
        market = seed_demo(s, ctx=platform.ctx)
    english = [line["en"] for line in market.matching_story]
    matched = [line for line in english if "->" in line]
    assert len(matched) == 2
    assert any("5-axis CNC mill" in line and "Mon 14:00" in line for line in matched)
    assert any("Science Park fast chargers" in line for line in matched)
    assert [line for line in english if "->" not in line] == [
        "福田车位 Bay in Futian: not matched, above_price_ceiling"
    ]
    chinese = [line["zh-CN"] for line in market.matching_story]
    assert any("周一 14:00" in line and "暂留价格 1120.00 CNY" in line for line in chinese)
    assert "（成本，以最小货币单位计：价格 " in chinese[0]
    assert chinese[-1] == "福田车位 Bay in Futian：未撮合，高于限价（above_price_ceiling）"
    assert len(market.money_story) == 5
    assert market.money_story[0] == {
        "en": "driver tops up wallet: 500.00 CNY (captured)",
        "zh-CN": "司机为钱包充值：500.00 元（已扣款）",
    }
    with platform.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Match)) == 2
        assert s.scalar(select(func.count()).select_from(Unmatched)) == 1
        held = s.scalar(select(func.count()).select_from(Booking).where(Booking.status == "held"))
        assert held == 2
