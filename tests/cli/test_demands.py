"""The `sparecap demand` commands against each database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner, Result

from sparecap.bootstrap import Platform
from sparecap.cli.common import _missing_sqlite_file
from sparecap.cli.main import app
from sparecap.services.demands import DemandIn, post_demand
from tests.support.market import Party, charger_spec, make_resource, party

runner = CliRunner()
TEN = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)


def charger_market(platform: Platform, *ceilings: int) -> tuple[Party, Party, list[int]]:
    """An operator, a demander, one charger hub, and a one-hour demand per price ceiling."""
    # The CLI reads the system clock, so the demands lie in the real future.
    start = (datetime.now(UTC) + timedelta(days=3)).replace(
        hour=2, minute=0, second=0, microsecond=0
    )
    operator = party(platform, "Operator", "operator")
    demander = party(platform, "Demander", "demander")
    make_resource(platform, party(platform, "Provider", "provider"), charger_spec())
    ids = []
    with platform.db.write() as s:
        for ceiling in ceilings:
            spec = DemandIn(category="ev_charger", attributes={"kw": 50}, quantity=1,
                            quantity_unit="hours", earliest_start=start,
                            deadline=start + timedelta(hours=4), max_price_minor=ceiling,
                            currency="CNY")  # type: ignore[arg-type]  # fmt: skip
            ids.append(post_demand(s, ctx=platform.ctx, principal=demander.principal, spec=spec).id)
    return operator, demander, ids


def test_round_and_explain_from_the_command_line(platform: Platform, db_url: str) -> None:
    operator, demander, (demand_id, cheap_id) = charger_market(platform, 5000, 1)
    refused = runner.invoke(app, ["demand", "round", "--as", str(demander.id), "-d", db_url])
    assert refused.exit_code == 1 and "role_required" in refused.output
    ran = runner.invoke(app, ["demand", "round", "--as", str(operator.id), "-d", db_url])
    assert ran.exit_code == 0, ran.output
    assert "1/2 demands matched" in ran.output and "above_price_ceiling: 1" in ran.output
    why = runner.invoke(
        app, ["demand", "explain", str(demand_id), "--as", str(demander.id), "-d", db_url]
    )
    assert why.exit_code == 0 and '"total": 4000' in why.output
    miss = runner.invoke(
        app, ["demand", "explain", str(cheap_id), "--as", str(demander.id), "-d", db_url]
    )
    assert "unmatched: above_price_ceiling" in miss.output
    listed = runner.invoke(app, ["demand", "list", "--as", str(operator.id), "-d", db_url])
    assert listed.exit_code == 0 and "matched" in listed.output
    # Off a terminal the table is 80 columns: values wrap rather than end in an ellipsis.
    assert "…" not in listed.output and "above_price_" in listed.output
    bad = runner.invoke(
        app, ["demand", "round", "--as", str(operator.id), "--fairness-share", "2", "-d", db_url]
    )
    assert bad.exit_code == 2
    # One line naming the option, not pydantic's dump with its web address.
    assert "--fairness-share" in bad.output and "pydantic" not in bad.output
    negative = runner.invoke(
        app, ["demand", "round", "--as", str(operator.id), "--per-km", "-1", "-d", db_url]
    )
    assert negative.exit_code == 2 and "--per-km" in negative.output
    assert "pydantic" not in negative.output


def test_an_id_too_large_for_the_database_is_a_usage_error(db_url: str) -> None:
    # SQLite stores 64-bit integers: a larger id was an OverflowError traceback. PostgreSQL's
    # ids are 32-bit: a larger one was the driver's "integer out of range" as a traceback.
    args_list = []
    for huge in (str(2**64), str(2**31)):
        args_list += [
            ["demand", "list", "--as", huge],
            ["demand", "explain", huge, "--as", "1"],
            ["demand", "round", "--as", huge],
            ["demand", "withdraw", huge, "--as", "1"],
            ["demand", "matches", "--as", "1", "--round", huge],
            ["quote", "show", huge, "--as", "1"],
            ["quote", "list", "1", "--as", huge],
            ["money", "pay", huge, "--as", "1"],
            ["money", "top-up", "100", "--as", huge],
            ["money", "statement", huge, "--start", "2026-01-01", "--end", "2026-02-01"],
        ]
    for args in args_list:
        result = runner.invoke(app, [*args, "-d", db_url])
        assert result.exit_code == 2, result.output
        assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output


def test_the_demand_commands_speak_chinese_in_a_chinese_locale(
    platform: Platform, db_url: str
) -> None:
    operator, demander, (demand_id,) = charger_market(platform, 1)
    zh = {"SPARECAP_LANG": "", "LC_ALL": "", "LC_MESSAGES": "", "LANG": "zh_CN.UTF-8"}

    def run(*args: str) -> Result:
        return runner.invoke(app, [*args, "-d", db_url], env=zh)

    ran = run("demand", "round", "--as", str(operator.id))
    assert ran.exit_code == 0, ran.output
    assert "第" in ran.output and "个需求中撮合 0 个" in ran.output
    assert "未撮合：高于限价（above_price_ceiling）：1" in ran.output
    why = run("demand", "explain", str(demand_id), "--as", str(demander.id))
    assert f"需求 {demand_id}：待撮合（open），已撮合 0/1 小时" in why.output
    assert "未撮合：高于限价（above_price_ceiling）" in why.output
    listed = run("demand", "list", "--as", str(demander.id))
    assert "截止时间" in listed.output and "待撮合" in listed.output
    refused = run("demand", "round", "--as", str(demander.id))
    assert (
        refused.exit_code == 1
        and "role_required: 您不具备执行此操作所需的角色。（" in refused.output
    )
    english = runner.invoke(
        app, ["demand", "explain", str(demand_id), "--as", str(demander.id), "-d", db_url],
        env={**zh, "LANG": "en_US.UTF-8"},
    )  # fmt: skip
    assert f"demand {demand_id}: open, 0/1 hours" in english.output


def test_a_mistyped_sqlite_path_is_refused_not_created(tmp_path: Path) -> None:
    # A typo in --database made a new, empty database (folders too) and then said the
    # participant did not exist.
    path = tmp_path / "typo" / "demo.sqlite3"
    for args in (
        ["demand", "list", "--as", "1"],
        ["demand", "explain", "1", "--as", "1"],
        ["demand", "round", "--as", "1"],
        ["demand", "close", "1", "--as", "1"],
        ["quote", "accept", "1", "--as", "1"],
    ):
        result = runner.invoke(app, [*args, "-d", f"sqlite:///{path}"])
        assert result.exit_code == 2, result.output
        assert "no database at" in result.output and str(path) in result.output
    assert not path.parent.exists()


def test_only_a_plain_sqlite_path_is_checked_for_existence(tmp_path: Path) -> None:
    assert _missing_sqlite_file(f"sqlite:///{tmp_path}/none.db") == tmp_path / "none.db"
    assert _missing_sqlite_file(f"sqlite:///file:{tmp_path}/none.db?uri=true") is None
    assert _missing_sqlite_file("sqlite://") is None
    assert _missing_sqlite_file("postgresql+psycopg://u@h/db") is None
