"""The sparecap command: database set-up, operators and keys, CSV import and export."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sparecap.cli.main import app
from sparecap.services.resource_csv import COLUMNS
from tests.support.market import bays_spec, charger_spec

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def csv_row(spec: dict) -> str:
    cells = []
    for column in COLUMNS:
        value = spec.get(column, "")
        if isinstance(value, dict | list):
            value = json.dumps(value)
        cells.append('"' + str(value).replace('"', '""') + '"')
    return ",".join(cells)


def write_csv(path: Path, *specs: dict) -> Path:
    path.write_text(",".join(COLUMNS) + "\n" + "\n".join(csv_row(s) for s in specs) + "\n")
    return path


@pytest.fixture
def provider_id(db_url: str) -> int:
    code, out = run("operator", "create", "Park operator", "--database", db_url)
    assert code == 0, out
    assert re.search(r"API key \(shown once\): sk_\S+", out)
    return int(re.search(r"operator (\d+) created", out).group(1))  # type: ignore[union-attr]


def test_import_is_all_or_nothing_and_export_round_trips(
    db_url: str, provider_id: int, tmp_path: Path
) -> None:
    good = charger_spec(name="充电桩 A")
    broken = charger_spec(name="bad", timezone="Nowhere/Land", attributes={"kw": "x"})
    code, out = run(
        "resources",
        "import",
        str(write_csv(tmp_path / "mixed.csv", good, broken)),
        "--provider",
        str(provider_id),
        "--database",
        db_url,
    )
    assert code == 1
    assert "line 3" in out and "timezone" in out
    code, out = run("resources", "export", "--database", db_url)
    assert code == 0 and out.strip() == ",".join(COLUMNS)  # nothing was written

    first = write_csv(tmp_path / "good.csv", good, bays_spec(capacity=40))
    code, out = run(
        "resources", "import", str(first), "--provider", str(provider_id), "--database", db_url
    )
    assert code == 0 and "imported 2 resources" in out, out
    exported = tmp_path / "out.csv"
    assert run("resources", "export", "-o", str(exported), "--database", db_url)[0] == 0
    text = exported.read_text(encoding="utf-8")
    assert "充电桩 A" in text and '""capacity"": 40' in text
    # What export writes, import reads back to the same listings.
    assert (
        run(
            "resources",
            "import",
            str(exported),
            "--provider",
            str(provider_id),
            "--database",
            db_url,
        )[0]
        == 0
    )
    again = tmp_path / "again.csv"
    run("resources", "export", "-o", str(again), "--database", db_url)
    lines = again.read_text(encoding="utf-8").splitlines()
    assert lines[1:3] == lines[3:5] == text.splitlines()[1:]


def test_bad_input_gives_a_message_and_a_nonzero_exit(db_url: str, tmp_path: Path) -> None:
    code, out = run("operator", "issue-key", "999", "--database", db_url)
    assert code == 1 and "not_found" in out
    headerless = tmp_path / "x.csv"
    headerless.write_text("name\nfoo\n")
    code, out = run("resources", "import", str(headerless), "--provider", "1", "--database", db_url)
    assert code == 1 and "lacks columns" in out
    code, out = run("serve", "--database", "nosuchdb://x")
    assert code == 2 and "cannot open the database" in out
    assert "Traceback" not in out


def test_db_upgrade_is_repeatable(db_url: str) -> None:
    assert run("db", "upgrade", "--database", db_url)[0] == 0
    assert run("db", "upgrade", "--database", db_url)[0] == 0


def test_the_operator_commands_speak_chinese_in_a_chinese_locale(
    db_url: str, tmp_path: Path
) -> None:
    zh = {"SPARECAP_LANG": "", "LC_ALL": "", "LC_MESSAGES": "", "LANG": "zh_CN.UTF-8"}

    def run_zh(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, [*args, "--database", db_url], env=zh)
        return result.exit_code, result.output

    code, out = run_zh("db", "upgrade")
    assert code == 0 and out.startswith("数据库已是最新版本：")
    code, out = run_zh("operator", "create", "园区运营方")
    assert code == 0, out
    created = re.fullmatch(r"已创建运营方 (\d+)；API 密钥（仅显示这一次）：(sk_\S+)\n", out)
    assert created, out
    # A key printed alone stays alone: scripts read it whole.
    code, out = run_zh("operator", "issue-key", created.group(1), "--label", "脚本")
    assert code == 0 and re.fullmatch(r"sk_\S+\n", out), out
    code, out = run_zh("operator", "issue-key", "999")
    assert code == 1 and "not_found: 未找到。（participant 999 not found）" in out, out

    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("name\ncafé\n".encode("latin-1"))
    code, out = run_zh("resources", "import", str(latin1), "--provider", created.group(1))
    assert code == 1 and "bad_csv: 文件不是 UTF-8 编码的文本" in out, out
    good = write_csv(tmp_path / "good.csv", charger_spec(name="充电桩 A"))
    code, out = run_zh("resources", "import", str(good), "--provider", created.group(1))
    assert code == 0 and re.fullmatch(r"已导入 1 个资源：\[\d+\]\n", out), out
    exported = tmp_path / "out.csv"
    code, out = run_zh("resources", "export", "-o", str(exported))
    assert code == 0 and out.startswith("已写入 ")
    assert exported.read_text(encoding="utf-8").splitlines()[0] == ",".join(COLUMNS)
    assert run_zh("timers", "run") == (0, "已触发 0 个预订计时器\n")
