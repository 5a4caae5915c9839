"""Where the shared OR-Library instances live, and their published optima (optima.csv)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

# The repository root is three folders up; the shared data sits beside it.
ORLIB = Path(__file__).resolve().parents[3].parent / "shared" / "orlib"

needs_orlib = pytest.mark.skipif(
    not (ORLIB / "optima.csv").is_file(),
    reason=f"OR-Library instances not found at {ORLIB} (see shared/orlib/SOURCES.md)",
)


def optima(family: str) -> list[dict[str, str]]:
    """Rows of optima.csv for one family ("assign" or "gap-orlib"), in file order."""
    if not (ORLIB / "optima.csv").is_file():
        return []
    with (ORLIB / "optima.csv").open(newline="", encoding="utf-8") as handle:
        return [row for row in csv.DictReader(handle) if row["family"] == family]
