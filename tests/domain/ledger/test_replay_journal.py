"""The journal replay: entries must balance; balances add up; the first differing account."""

from __future__ import annotations

from sparecap.domain.ledger.replay import Check
from sparecap.domain.ledger.replay_journal import Balance, JournalReplay, compare_balances


def entry(*lines: tuple[str, str, int]) -> dict[str, object]:
    rows = [{"account": a, "currency": c, "minor": m} for a, c, m in lines]
    return {"kind": "journal.entry", "data": {"kind": "topup", "lines": rows}}


def test_balanced_entries_add_up_per_account_and_currency() -> None:
    replay = JournalReplay()
    assert (
        replay.fold(0, entry(("clearing:sandbox", "CNY", -500), ("wallet:p1", "CNY", 500))) is None
    )
    assert replay.fold(3, entry(("wallet:p1", "CNY", -200), ("escrow:7", "CNY", 200))) is None
    assert replay.balances[("wallet:p1", "CNY")] == Balance(300, 3)
    assert replay.entries == 2


def test_an_unbalanced_or_unreadable_entry_is_a_divergence() -> None:
    replay = JournalReplay()
    bad = replay.fold(5, entry(("wallet:p1", "CNY", 10), ("escrow:1", "USD", -10)))
    assert bad is not None and bad.seq == 5 and bad.check is Check.TRANSITION
    assert replay.fold(6, {"data": {"lines": "nope"}}) is not None
    assert replay.fold(7, entry(("wallet:p1", "CNY", 0))) is not None  # one line only


def test_compare_names_the_account_moved_earliest() -> None:
    replayed = {("a", "CNY"): Balance(5, 9), ("b", "CNY"): Balance(7, 2)}
    assert compare_balances(replayed, {("a", "CNY"): 5, ("b", "CNY"): 7}) is None
    first = compare_balances(replayed, {("a", "CNY"): 4, ("b", "CNY"): 8})
    assert first is not None and first.seq == 2 and first.check is Check.BALANCE
    extra = compare_balances(replayed, {("a", "CNY"): 5, ("b", "CNY"): 7, ("c", "CNY"): 1})
    assert extra is not None and extra.seq is None and "account c" in extra.what
