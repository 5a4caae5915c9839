"""The CLI's writes on the market: post a demand, quote, counter, accept, match, withdraw.

The commands read the system clock, so every window lies a few days in the real future; the
charger is open 08:00-20:00 Shanghai time (00:00-12:00 UTC).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from string import Formatter
from typing import Any

from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from sparecap.bootstrap import Platform
from sparecap.cli.main import app
from sparecap.cli.text import MESSAGES
from sparecap.db.demands import Demand, Match, MatchRound, Quote
from sparecap.db.models import Booking, LedgerEntry
from sparecap.domain.bookings import Event
from sparecap.services.bookings import transition_booking
from tests.support.market import Party, charger_spec, make_resource, party

runner = CliRunner()
SHANGHAI = timezone(timedelta(hours=8))


def _start() -> datetime:
    return (datetime.now(UTC) + timedelta(days=3)).replace(
        hour=2, minute=0, second=0, microsecond=0
    )


def _at(t: datetime) -> str:
    """ISO 8601 in Shanghai's offset, as a person there would type it."""
    return t.astimezone(SHANGHAI).isoformat()


def _cli(db_url: str, *args: str, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(app, [*args, "-d", db_url], env=env)


def _post(db_url: str, who: Party, *extra: str, price: int = 5000) -> Result:
    start = _start()
    return _cli(
        db_url, "demand", "post", "--as", str(who.id), "--category", "ev_charger",
        "--quantity", "1", "--unit", "hours", "--earliest-start", _at(start),
        "--deadline", _at(start + timedelta(hours=4)), "--max-price", str(price),
        "--currency", "CNY", "--attr", "kw=50", "--lat", "31.23", "--lon", "121.47",
        "--max-km", "10", *extra,
    )  # fmt: skip


def _id(pattern: str, output: str) -> int:
    found = re.search(pattern, output)
    assert found, output
    return int(found.group(1))


def _snapshot(platform: Platform) -> dict[str, Any]:
    """What a refused command must leave as it was."""
    with platform.db.read() as s:
        counts = {m.__name__: s.scalar(select(func.count()).select_from(m))
                  for m in (Demand, Quote, Match, MatchRound, Booking, LedgerEntry)}  # fmt: skip
        states = {
            "demands": list(s.execute(select(Demand.id, Demand.status).order_by(Demand.id))),
            "quotes": list(s.execute(select(Quote.id, Quote.status).order_by(Quote.id))),
        }
        return {**counts, **{k: [tuple(r) for r in v] for k, v in states.items()}}


def _market(platform: Platform) -> tuple[Party, Party, int]:
    provider = party(platform, "Provider", "provider")
    demander = party(platform, "Demander", "demander")
    return provider, demander, make_resource(platform, provider, charger_spec())


def test_post_quote_counter_accept_and_list_the_match(platform: Platform, db_url: str) -> None:
    provider, demander, resource = _market(platform)
    start = _start()
    posted = _post(db_url, demander, "--title", "Fleet van")
    assert posted.exit_code == 0, posted.output
    demand = _id(r"demand (\d+): open, 0/1 hours", posted.output)

    offered = _cli(
        db_url, "quote", "create", str(demand), "--as", str(provider.id), "--resource",
        str(resource), "--price", "4500", "--quantity", "1", "--start", _at(start),
        "--end", _at(start + timedelta(hours=1)), "--note", "fast charger",
    )  # fmt: skip
    assert offered.exit_code == 0, offered.output
    first = _id(
        rf"quote (\d+) on demand {demand} by participant {provider.id}: offered", offered.output
    )
    assert "4500 CNY" in offered.output and "unit any" in offered.output
    assert "note: fast charger" in offered.output
    listed = _cli(db_url, "quote", "list", str(demand), "--as", str(demander.id))
    assert listed.exit_code == 0 and f"quote {first} on demand {demand}" in listed.output

    countered = _cli(db_url, "quote", "counter", str(first), "--as", str(demander.id),
                     "--price", "4000")  # fmt: skip
    assert countered.exit_code == 0, countered.output
    second = _id(rf"quote (\d+) on demand {demand} by participant {demander.id}: offered",
                 countered.output)  # fmt: skip
    assert f"counters quote {first}" in countered.output and "4000 CNY" in countered.output
    shown = _cli(db_url, "quote", "show", str(first), "--as", str(provider.id))
    assert shown.exit_code == 0 and ": countered," in shown.output

    # Nobody agrees with their own offer: the demander wrote the counter.
    before = _snapshot(platform)
    own = _cli(db_url, "quote", "accept", str(second), "--as", str(demander.id))
    assert own.exit_code == 1 and "forbidden_transition" in own.output
    assert "Traceback" not in own.output and _snapshot(platform) == before

    accepted = _cli(db_url, "quote", "accept", str(second), "--as", str(provider.id))
    assert accepted.exit_code == 0, accepted.output
    assert ": accepted," in accepted.output
    booking = _id(r"  booking (\d+)", accepted.output)
    match = _id(rf"match (\d+): booking {booking} on unit \d+", accepted.output)
    assert '"total": 4000' in accepted.output

    for who, extra in ((demander, ["--demand", str(demand)]), (provider, [])):
        matches = _cli(db_url, "demand", "matches", "--as", str(who.id), *extra)
        assert matches.exit_code == 0, matches.output
        assert f"match {match} on demand {demand} (quote {second}): booking {booking}" in (
            matches.output
        )
        assert "4000 CNY" in matches.output
    why = _cli(db_url, "demand", "explain", str(demand), "--as", str(demander.id))
    assert f"demand {demand}: matched, 1/1 hours" in why.output
    closed = _cli(db_url, "demand", "close", str(demand), "--as", str(demander.id))
    assert closed.exit_code == 0 and f"demand {demand}: closed" in closed.output


def test_instant_match_and_the_rounds_it_leaves(platform: Platform, db_url: str) -> None:
    _, demander, _ = _market(platform)
    operator = party(platform, "Operator", "operator")
    cheap = _id(r"demand (\d+)", _post(db_url, demander, price=1).output)
    missed = _cli(db_url, "demand", "match", str(cheap), "--as", str(demander.id))
    assert missed.exit_code == 0, missed.output
    assert "0/1 demands matched" in missed.output
    assert (
        "unmatched: above_price_ceiling: All capacity that fits costs more than your price "
        "ceiling." in missed.output
    )
    fair = _id(r"demand (\d+)", _post(db_url, demander).output)
    held = _cli(db_url, "demand", "match", str(fair), "--as", str(demander.id))
    assert held.exit_code == 0, held.output
    rnd = _id(r"round (\d+): 1/1 demands matched", held.output)
    assert re.search(r"match \d+: booking \d+ on unit \d+", held.output)

    rounds = _cli(db_url, "demand", "rounds", "--as", str(operator.id))
    assert rounds.exit_code == 0 and rounds.output.count("(instant, ") == 2
    assert "no rounds" in _cli(db_url, "demand", "rounds", "--as", str(demander.id)).output
    of_round = _cli(db_url, "demand", "matches", "--as", str(operator.id), "--round", str(rnd))
    assert f"on demand {fair} (round {rnd})" in of_round.output
    none = _cli(db_url, "demand", "matches", "--as", str(demander.id), "--demand", str(cheap))
    assert none.exit_code == 0 and "no matches" in none.output

    # The demander cancels the hold: the match lapses and its quantity goes back.
    booking = _id(r"booking (\d+) on unit", held.output)
    with platform.db.write() as s:
        transition_booking(s, ctx=platform.ctx, principal=demander.principal,
                           booking_id=booking, event=Event.CANCEL)  # fmt: skip
    lapsed = _cli(db_url, "demand", "matches", "--as", str(demander.id), "--demand", str(fair))
    assert "lapsed: its booking cancelled, the quantity went back to the demand" in lapsed.output


def test_refusals_exit_1_and_write_nothing(platform: Platform, db_url: str) -> None:
    provider, demander, resource = _market(platform)
    stranger = party(platform, "Stranger", "demander")
    demand = _id(r"demand (\d+)", _post(db_url, demander).output)
    start = _start()
    quote = _id(r"quote (\d+)", _cli(
        db_url, "quote", "create", str(demand), "--as", str(provider.id), "--resource",
        str(resource), "--price", "4500", "--quantity", "1", "--start", _at(start),
        "--end", _at(start + timedelta(hours=1)),
    ).output)  # fmt: skip
    before = _snapshot(platform)
    for args, code in (
        (["demand", "withdraw", str(demand), "--as", str(stranger.id)], "unknown_demand"),
        (["quote", "accept", str(quote), "--as", str(stranger.id)], "unknown_quote"),
        (["quote", "withdraw", str(quote), "--as", str(demander.id)], "forbidden_transition"),
        (["demand", "close", str(demand), "--as", str(demander.id)], "invalid_transition"),
        (["demand", "match", str(demand), "--as", str(provider.id)], "unknown_demand"),
        (["quote", "create", str(demand), "--as", str(demander.id), "--resource", str(resource),
          "--price", "1", "--quantity", "1", "--start", _at(start),
          "--end", _at(start + timedelta(hours=1))], "role_required"),
        (["quote", "counter", str(quote), "--as", str(demander.id), "--price", "1",
          "--quantity", "2"], "quantity_exceeds_demand"),
    ):  # fmt: skip
        result = _cli(db_url, *args)
        assert result.exit_code == 1, (args, result.output)
        assert code in result.output and "Traceback" not in result.output
        assert isinstance(result.exception, SystemExit)
    refused_post = _post(db_url, provider)
    assert refused_post.exit_code == 1 and "role_required" in refused_post.output
    assert _snapshot(platform) == before
    withdrawn = _cli(db_url, "demand", "withdraw", str(demand), "--as", str(demander.id))
    assert withdrawn.exit_code == 0 and f"demand {demand}: withdrawn" in withdrawn.output


def test_bad_input_is_one_line_exit_2_and_writes_nothing(platform: Platform, db_url: str) -> None:
    provider, demander, resource = _market(platform)
    demand = _id(r"demand (\d+)", _post(db_url, demander).output)
    before = _snapshot(platform)
    start = _start()
    naive = start.replace(tzinfo=None).isoformat()
    quote = ["quote", "create", str(demand), "--as", str(provider.id), "--resource",
             str(resource), "--price", "4500", "--quantity", "1"]  # fmt: skip
    for args, says in (
        (["--deadline", naive], "--deadline: Input should have timezone info"),
        (["--deadline", "next friday"], "--deadline: Input should be a valid datetime"),
        (["--deadline", _at(start - timedelta(hours=1))],
         "deadline must be after earliest_start"),
        (["--max-km", "-3"], "--max-km: Input should be greater than 0"),
        (["--currency", "XXX"], "unknown currency 'XXX'"),
        (["--attributes", "{kw: 50"], "--attributes: expected a JSON object"),
        (["--attributes", "[1]"], "--attributes: expected a JSON object (list)"),
        (["--attr", "kw"], "--attr: expected key=value, got 'kw'"),
        (["--unit", "litres"], "--unit"),
    ):  # fmt: skip
        # Later options win, so each case overrides one good value of _post.
        result = _post(db_url, demander, *args)
        assert result.exit_code == 2, (args, result.output)
        assert says in " ".join(result.output.split()), (args, result.output)
        assert "pydantic" not in result.output and "Traceback" not in result.output
    for args, says in (
        ([*quote, "--start", naive, "--end", _at(start)], "--start: Input should have timezone"),
        ([*quote, "--start", _at(start), "--end", _at(start)], "end must be after start"),
        ([*quote, "--start", _at(start), "--end", _at(start), "--resource", str(2**31)],
         "--resource"),
        (["quote", "counter", "1", "--as", str(demander.id), "--price", "-1"],
         "--price: Input should be greater than or equal to 0"),
    ):  # fmt: skip
        result = _cli(db_url, *args)
        assert result.exit_code == 2, (args, result.output)
        assert says in " ".join(result.output.split()), (args, result.output)
    assert _snapshot(platform) == before


def test_the_quote_commands_speak_chinese_in_a_chinese_locale(
    platform: Platform, db_url: str
) -> None:
    provider, demander, resource = _market(platform)
    zh = {"SPARECAP_LANG": "", "LC_ALL": "", "LC_MESSAGES": "", "LANG": "zh_CN.UTF-8"}
    start = _start()
    posted = _cli(
        db_url, "demand", "post", "--as", str(demander.id), "--category", "ev_charger",
        "--quantity", "1", "--unit", "hours", "--earliest-start", _at(start),
        "--deadline", _at(start + timedelta(hours=4)), "--max-price", "1", "--currency", "CNY",
        env=zh,
    )  # fmt: skip
    demand = _id(r"需求 (\d+)：待撮合（open），已撮合 0/1 小时", posted.output)
    none = _cli(
        db_url, "demand", "post", "--as", str(demander.id), "--category", "ev_charger",
        "--quantity", "0", "--unit", "hours", "--earliest-start", _at(start),
        "--deadline", _at(start + timedelta(hours=4)), "--max-price", "1", "--currency", "CNY",
        env=zh,
    )  # fmt: skip
    assert none.exit_code == 2 and "--quantity: 应不小于 1" in none.output, none.output
    missed = _cli(db_url, "demand", "match", str(demand), "--as", str(demander.id), env=zh)
    assert (
        "未撮合：高于限价（above_price_ceiling）：所有符合要求的产能价格都高于您设定的限价。"
        in (missed.output)
    )
    offered = _cli(
        db_url, "quote", "create", str(demand), "--as", str(provider.id), "--resource",
        str(resource), "--price", "1", "--quantity", "1", "--start", _at(start),
        "--end", _at(start + timedelta(hours=1)), env=zh,
    )  # fmt: skip
    quote = _id(rf"报价 (\d+)（需求 {demand}，由参与者 {provider.id} 提出）：待回应（offered）",
                offered.output)  # fmt: skip
    assert "单元 任意" in offered.output
    own = _cli(db_url, "quote", "accept", str(quote), "--as", str(provider.id), env=zh)
    assert own.exit_code == 1 and "forbidden_transition: 您无权进行此状态变更。（" in own.output
    declined = _cli(db_url, "quote", "decline", str(quote), "--as", str(demander.id), env=zh)
    assert "已拒绝（declined）" in declined.output
    rounds = _cli(db_url, "demand", "rounds", "--as", str(demander.id), env=zh)
    assert "没有撮合轮次" in rounds.output


def test_every_message_is_in_both_languages_with_the_same_blanks() -> None:
    def blanks(template: str) -> set[str]:
        return {field for _, field, _, _ in Formatter().parse(template) if field}

    assert MESSAGES["en"].keys() == MESSAGES["zh-CN"].keys()
    for key, template in MESSAGES["en"].items():
        assert blanks(template) == blanks(MESSAGES["zh-CN"][key]), key
