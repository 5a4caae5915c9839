"""Batched appends keep the log's promises: one transaction, no gaps, savepoints honoured."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sparecap.bootstrap import Platform
from sparecap.db.models import LedgerEntry, LedgerNode, LedgerState
from sparecap.domain.ledger.entries import frontier_root
from sparecap.domain.ledger.merkle import root_from_leaf_hashes
from sparecap.services.ledger import NewEntry, append_entries, append_entry
from sparecap.services.ledger_audit import audit_ledger
from tests.conftest import T0


class RefusedError(Exception):
    """Stands for a use case refused inside a savepoint."""


def add(session: Session, name: str) -> int:
    return append_entry(session, kind="test", subject=f"test:{name}", at=T0, data={"n": name})


def logged(platform: Platform) -> list[tuple[int, str]]:
    with platform.db.read() as s:
        rows = s.execute(select(LedgerEntry.seq, LedgerEntry.subject).order_by(LedgerEntry.seq))
        return [(seq, subject) for seq, subject in rows]


def assert_consistent(platform: Platform) -> None:
    """The state row, subtree rows and entries agree (the audit replays all of them)."""
    with platform.db.read() as s:
        result = audit_ledger(s, verifiers=(), origin=platform.settings.ledger_origin)
        leaves = list(s.scalars(select(LedgerEntry.leaf_hash).order_by(LedgerEntry.seq)))
        state = s.get(LedgerState, 1)
    assert result.divergence is None, result.divergence
    assert state is not None and state.size == len(leaves)
    root = frontier_root([bytes.fromhex(h) for h in state.frontier])
    assert root == root_from_leaf_hashes([bytes(h) for h in leaves])


def test_a_batch_is_numbered_in_order_and_readable_in_its_own_transaction(
    platform: Platform,
) -> None:
    with platform.db.write() as s:
        first = add(s, "a")
        more = append_entries(
            s, [NewEntry("test", f"test:{n}", T0, {"n": n}) for n in ("b", "c", "d")]
        )
        # A read in the same transaction sees the appended rows, as autoflush would show it.
        assert s.scalar(select(func.count()).select_from(LedgerEntry)) == 4
        payload = s.scalar(select(LedgerEntry.payload).where(LedgerEntry.seq == 2))
    assert (first, more) == (0, [1, 2, 3])
    assert payload is not None and json.loads(payload)["data"] == {"n": "c"}
    with platform.db.read() as s:
        # Four leaves complete the subtrees (1,0), (1,1) and (2,0) besides the leaves.
        assert s.scalar(select(func.count()).select_from(LedgerNode)) == 7
    assert_consistent(platform)


def test_a_rolled_back_transaction_leaves_no_entry(platform: Platform) -> None:
    with pytest.raises(RefusedError), platform.db.write() as s:
        add(s, "lost")
        raise RefusedError
    with platform.db.write() as s:
        assert add(s, "kept") == 0
    assert logged(platform) == [(0, "test:kept")]
    assert_consistent(platform)


def test_a_rolled_back_savepoint_drops_only_its_own_entries(platform: Platform) -> None:
    with platform.db.write() as s:
        add(s, "before")
        with pytest.raises(RefusedError), s.begin_nested():
            add(s, "inside")
            raise RefusedError
        with s.begin_nested():
            add(s, "released")
        add(s, "after")
    assert logged(platform) == [
        (0, "test:before"),
        (1, "test:released"),
        (2, "test:after"),
    ]
    assert_consistent(platform)


def test_rows_written_inside_a_savepoint_are_written_again_after_its_rollback(
    platform: Platform,
) -> None:
    with platform.db.write() as s:
        add(s, "before")
        with pytest.raises(RefusedError), s.begin_nested():
            add(s, "inside")
            # This read writes both pending entries, inside the savepoint.
            assert s.scalar(select(func.count()).select_from(LedgerEntry)) == 2
            raise RefusedError
        assert s.scalar(select(func.count()).select_from(LedgerEntry)) == 1
        add(s, "after")
    assert logged(platform) == [(0, "test:before"), (1, "test:after")]
    assert_consistent(platform)


def test_a_log_first_touched_inside_a_rolled_back_savepoint_starts_afresh(
    platform: Platform,
) -> None:
    with platform.db.write() as s:
        add(s, "earlier")
    with platform.db.write() as s:
        with pytest.raises(RefusedError), s.begin_nested():
            add(s, "inside")
            with s.begin_nested():
                add(s, "nested")
            raise RefusedError
        assert add(s, "after") == 1
    assert logged(platform) == [(0, "test:earlier"), (1, "test:after")]
    assert_consistent(platform)


def test_many_transactions_stay_gap_free_and_consistent(platform: Platform) -> None:
    for batch in range(5):
        with platform.db.write() as s:
            for n in range(37):
                add(s, f"{batch}.{n}")
    assert [seq for seq, _ in logged(platform)] == list(range(5 * 37))
    assert_consistent(platform)
