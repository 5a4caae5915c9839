"""The command line speaks the locale's language: tests pin English unless they ask for zh-CN."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPARECAP_LANG", "en")
