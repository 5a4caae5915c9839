"""The journal replay: money movements on the log, added up into account balances.

Plugged into the log replay (replay.py) for entries of kind "journal.entry": each must balance
in every currency, and the balances the log adds up to are what the audit compares with the
journal tables (`compare_balances`). Accounts of people appear on the log under pseudonyms, so
the audit maps the stored accounts to the same public names before comparing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sparecap.domain.ledger.replay import Check, Divergence

JOURNAL_ENTRY = "journal.entry"
Account = tuple[str, str]  # public account code, currency


@dataclass
class Balance:
    minor: int = 0
    last_seq: int = -1  # the last entry that moved it


class JournalReplay:
    """Balances per public account and currency, as the log's journal entries add them up."""

    kinds = frozenset({JOURNAL_ENTRY})

    def __init__(self) -> None:
        self.balances: dict[Account, Balance] = defaultdict(Balance)
        self.entries = 0

    def fold(self, seq: int, body: Mapping[str, Any]) -> Divergence | None:
        lines = _lines(body)
        if lines is None:
            return Divergence(seq, Check.TRANSITION, "unreadable journal entry", "lines", "")
        sums: dict[str, int] = defaultdict(int)
        for _account, currency, minor in lines:
            sums[currency] += minor
        unbalanced = {c: s for c, s in sums.items() if s}
        if len(lines) < 2 or unbalanced:
            what = f"journal entry at {seq} does not balance"
            return Divergence(seq, Check.TRANSITION, what, "sum 0 per currency", str(unbalanced))
        for account, currency, minor in lines:
            balance = self.balances[(account, currency)]
            balance.minor += minor
            balance.last_seq = seq
        self.entries += 1
        return None


def _lines(body: Mapping[str, Any]) -> list[tuple[str, str, int]] | None:
    data = body.get("data")
    raw = data.get("lines") if isinstance(data, dict) else None
    if not isinstance(raw, list):
        return None
    lines = []
    for line in raw:
        if not isinstance(line, dict):
            return None
        account, currency, minor = line.get("account"), line.get("currency"), line.get("minor")
        if not (isinstance(account, str) and isinstance(currency, str)):
            return None
        if not isinstance(minor, int) or isinstance(minor, bool):
            return None
        lines.append((account, currency, minor))
    return lines


def compare_balances(
    replayed: Mapping[Account, Balance], stored: Mapping[Account, int]
) -> Divergence | None:
    """The first account (in log order of its last movement) whose stored balance differs."""
    differing = [
        (replayed[key].last_seq if key in replayed else None, key)
        for key in set(replayed) | set(stored)
        if (replayed[key].minor if key in replayed else 0) != stored.get(key, 0)
    ]
    if not differing:
        return None
    seq, (account, currency) = min(differing, key=lambda d: (d[0] is None, d[0] or 0, d[1]))
    logged = replayed[(account, currency)].minor if (account, currency) in replayed else 0
    what = f"account {account} ({currency}): the journal's balance differs from the log's"
    return Divergence(
        seq, Check.BALANCE, what, str(logged), str(stored.get((account, currency), 0))
    )
