"""`match solve`: objective, bound, status, time per problem; a bad file is one line, code 2."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sparecap.cli.match import app

# The repository root is two folders up; the shared OR-Library data sits beside it.
ORLIB = Path(__file__).resolve().parents[2].parent / "shared" / "orlib"
needs_orlib = pytest.mark.skipif(
    not (ORLIB / "optima.csv").is_file(), reason=f"OR-Library instances not found at {ORLIB}"
)
runner = CliRunner()


def values(output: str, key: str) -> list[str]:
    return re.findall(rf"^{key}: (\S+)$", output, flags=re.MULTILINE)


@needs_orlib
def test_an_assign_file_prints_its_optimum() -> None:
    result = runner.invoke(app, ["solve", str(ORLIB / "assign" / "assign100.txt")])
    assert result.exit_code == 0, result.output
    assert values(result.stdout, "objective") == ["305"]
    assert values(result.stdout, "bound") == ["305"]
    assert values(result.stdout, "status") == ["optimal"]
    assert re.fullmatch(r"\d+\.\d{3}s", values(result.stdout, "time")[0])


@needs_orlib
def test_every_problem_of_a_gap_file_is_solved_in_order() -> None:
    result = runner.invoke(app, ["solve", str(ORLIB / "gap" / "gap1.txt")])
    assert result.exit_code == 0, result.output
    assert values(result.stdout, "objective") == ["261", "269", "256", "274", "251"]
    assert values(result.stdout, "status") == ["optimal"] * 5


@needs_orlib
@pytest.mark.parametrize(("sense", "expected"), [("max", "336"), ("min", "261")])
def test_index_and_sense_pick_one_problem(sense: str, expected: str) -> None:
    file = str(ORLIB / "gap" / "gap1.txt")
    result = runner.invoke(app, ["solve", file, "--index", "0", "--sense", sense])
    assert result.exit_code == 0, result.output
    assert values(result.stdout, "objective") == [expected]


def test_a_file_named_otherwise_is_recognised_by_its_content(tmp_path: Path) -> None:
    square = tmp_path / "tiny.txt"
    square.write_text("2\n 4 1\n 2 9\n")
    result = runner.invoke(app, ["solve", str(square), "--sense", "max"])
    assert result.exit_code == 0, result.output
    assert values(result.stdout, "objective") == ["13"]  # 4 + 9
    gap = tmp_path / "plant.txt"
    gap.write_text("1\n2 2\n1 5\n4 1\n3 3\n3 3\n3 3\n")
    result = runner.invoke(app, ["solve", str(gap)])
    assert values(result.stdout, "objective") == ["2"]


def test_an_infeasible_gap_problem_says_so(tmp_path: Path) -> None:
    file = tmp_path / "gap_tight.txt"
    file.write_text("1\n1 2\n1 1\n3 3\n4\n")
    result = runner.invoke(app, ["solve", str(file)])
    assert result.exit_code == 0, result.output
    assert values(result.stdout, "status") == ["infeasible"]
    assert values(result.stdout, "objective") == ["none"]


def _one_line_error(args: list[str], needle: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert isinstance(result.exception, SystemExit)  # a clean exit, not a traceback
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert needle in lines[0]


def test_a_missing_file_is_one_clear_line(tmp_path: Path) -> None:
    _one_line_error(["solve", str(tmp_path / "assign9.txt")], "no such file")


def test_a_directory_is_one_clear_line(tmp_path: Path) -> None:
    _one_line_error(["solve", str(tmp_path)], "cannot read")


@pytest.mark.parametrize(
    ("name", "text", "needle"),
    [
        ("assign_bad.txt", "3\n1 2 3\n", "expected 9 costs"),
        ("gap_bad.txt", "1\n2 2\n1 x\n", "not an integer"),
        ("gap_short.txt", "1\n2 2\n1 2\n", "truncated"),
        ("other.txt", "hello world\n", "neither an assign nor a gap file"),
        ("empty.txt", "", "empty"),
        ("gap_huge.txt", "1\n1 2\n" + "9000000000000000000 " * 2 + "\n1 1\n5\n", "overflow"),
        ("assign_huge.txt", "2\n9000000000000000000 1\n1 9000000000000000000\n", "OVERFLOW"),
    ],
)
def test_a_garbled_file_is_one_clear_line(
    tmp_path: Path, name: str, text: str, needle: str
) -> None:
    file = tmp_path / name
    file.write_text(text)
    _one_line_error(["solve", str(file)], needle)


def test_an_index_out_of_range_is_one_clear_line(tmp_path: Path) -> None:
    file = tmp_path / "gap_one.txt"
    file.write_text("1\n1 1\n1\n1\n1\n")
    _one_line_error(["solve", str(file), "--index", "1"], "out of range")
    square = tmp_path / "assign_one.txt"
    square.write_text("1\n7\n")
    _one_line_error(["solve", str(square), "--index", "2"], "out of range")


@pytest.mark.parametrize("limit", ["0", "-1", "inf", "nan"])
def test_a_time_limit_that_is_not_a_positive_number_is_one_clear_line(
    tmp_path: Path, limit: str
) -> None:
    # inf reached OR-Tools' int() as a traceback; nan slipped past "<= 0" and ran.
    file = tmp_path / "gap_one.txt"
    file.write_text("1\n1 1\n1\n1\n1\n")
    _one_line_error(["solve", str(file), "--time-limit", limit], "--time-limit")


def test_errors_speak_chinese_in_a_chinese_locale(tmp_path: Path) -> None:
    zh = {"SPARECAP_LANG": "zh-CN"}
    missing = runner.invoke(app, ["solve", str(tmp_path / "assign9.txt")], env=zh)
    assert missing.exit_code == 2 and missing.stderr.startswith("错误：文件不存在：")
    limit = runner.invoke(app, ["solve", str(tmp_path), "--time-limit", "0"], env=zh)
    assert limit.exit_code == 2 and "必须是正的秒数" in limit.stderr
