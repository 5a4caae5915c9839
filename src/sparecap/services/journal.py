"""The journal: posting balanced entries (one at a time or a batch), balances, reversals.

Each entry lands on the verifiable ledger in the same transaction. Accounts that hold money for
someone (wallets, escrow, deposits, payouts on their way) are locked and checked before money
leaves them, so two requests can never spend one balance twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from sparecap.db.bulk import insert_rows, one_of
from sparecap.db.money import Account, JournalEntry, JournalLine
from sparecap.domain.journal import (
    NON_NEGATIVE,
    AccountKind,
    AccountRef,
    JournalError,
    Line,
    check_balanced,
    reversal,
)
from sparecap.domain.ledger.entries import pseudonym
from sparecap.domain.money import Money
from sparecap.services.errors import ConflictError, InvalidInputError, NotFoundError
from sparecap.services.ledger import append_entry

_ENTRIES = cast(Table, JournalEntry.__table__)
_LINES = cast(Table, JournalLine.__table__)
_LINE_COLUMNS = ("entry_id", "account_id", "currency", "amount_minor")
_ENTRY_COLUMNS = (
    "kind",
    "booking_id",
    "payment_id",
    "reverses_id",
    "memo",
    "ledger_seq",
    "created_at",
)

# Accounts owned by a participant: their owner is a person, so the ledger shows a pseudonym.
PERSONAL: frozenset[AccountKind] = frozenset({AccountKind.WALLET, AccountKind.PAYOUT_PENDING})


class InsufficientFundsError(ConflictError):
    code = "insufficient_funds"


@dataclass(frozen=True, slots=True)
class Draft:
    """An entry to post: what happened, to which booking or payment, and its lines."""

    kind: str
    lines: Sequence[Line]
    booking_id: int | None = None
    payment_id: int | None = None
    reverses_id: int | None = None
    memo: str = ""


def post_entry(session: Session, *, draft: Draft, at: datetime, salt: bytes) -> JournalEntry:
    entry_id = post_entries(session, drafts=[draft], at=at, salt=salt)[0]
    entry = session.get(JournalEntry, entry_id)
    assert entry is not None
    return entry


def post_entries(
    session: Session, *, drafts: Sequence[Draft], at: datetime, salt: bytes
) -> list[int]:
    """Post `drafts` in the caller's transaction; returns their entry ids, in order.

    Written with one multi-row insert per table, so a settlement batch of 100,000 entries costs
    a handful of statements, not a million.
    """
    for draft in drafts:
        try:
            check_balanced(draft.lines)
        except JournalError as exc:
            raise InvalidInputError(str(exc), code="unbalanced_entry") from exc
    ids = _account_ids(session, [line for d in drafts for line in d.lines])
    _check_funds(session, drafts, ids)
    seqs = [
        append_entry(
            session, kind="journal.entry", subject=_subject(d), at=at, data=_public(d, salt)
        )
        for d in drafts
    ]
    # Core statements on the tables, not the ORM's bulk path: these rows are written once and
    # never change. No RETURNING either (row-by-row on SQLite): each entry's ledger position is
    # unique, so one range query reads the new ids back.
    entry_rows = [
        (d.kind, d.booking_id, d.payment_id, d.reverses_id, d.memo, seq, at)
        for d, seq in zip(drafts, seqs, strict=True)
    ]
    insert_rows(session.connection(), _ENTRIES, _ENTRY_COLUMNS, entry_rows)
    new = select(_ENTRIES.c.ledger_seq, _ENTRIES.c.id).where(
        _ENTRIES.c.ledger_seq >= min(seqs), _ENTRIES.c.ledger_seq <= max(seqs)
    )
    by_seq: dict[int, int] = {seq: id_ for seq, id_ in session.execute(new)}
    entry_ids = [by_seq[seq] for seq in seqs]
    line_rows = [
        (entry_id, ids[(line.account, line.amount.currency)], line.amount.currency,
         line.amount.minor)
        for entry_id, draft in zip(entry_ids, drafts, strict=True)
        for line in draft.lines
    ]  # fmt: skip
    insert_rows(session.connection(), _LINES, _LINE_COLUMNS, line_rows)
    return entry_ids


def _subject(draft: Draft) -> str:
    # Filed under the booking when there is one, so its evidence bundle carries its money too.
    return f"booking:{draft.booking_id}" if draft.booking_id is not None else "journal"


def _public(draft: Draft, salt: bytes) -> dict[str, object]:
    """The entry as the public log shows it: accounts of people under pseudonyms."""
    return {
        "kind": draft.kind,
        "booking": draft.booking_id,
        "lines": [
            {
                "account": public_account_code(line.account, salt),
                "currency": line.amount.currency,
                "minor": line.amount.minor,
            }
            for line in draft.lines
        ],
    }


def public_account_code(account: AccountRef, salt: bytes) -> str:
    if account.kind in PERSONAL:
        return f"{account.kind}:{pseudonym(salt, 'participant', int(account.owner))}"
    return account.code


def _account_ids(session: Session, lines: Sequence[Line]) -> dict[tuple[AccountRef, str], int]:
    """Ids of the lines' accounts, each created on its first use."""
    wanted = {(line.account, line.amount.currency) for line in lines}
    found = _find_accounts(session, wanted)
    missing = wanted - found.keys()
    if missing:
        values = [
            {
                "code": ref.code,
                "kind": ref.kind.value,
                "currency": currency,
                "participant_id": int(ref.owner) if ref.kind in PERSONAL else None,
            }
            for ref, currency in sorted(missing)
        ]
        postgres = session.get_bind().dialect.name == "postgresql"
        upsert = pg_insert(Account) if postgres else sqlite_insert(Account)
        session.execute(upsert.on_conflict_do_nothing(), values)
        found |= _find_accounts(session, missing)
    return found


def _find_accounts(
    session: Session, wanted: set[tuple[AccountRef, str]]
) -> dict[tuple[AccountRef, str], int]:
    query = select(Account.id, Account.code, Account.currency).where(
        one_of(session, Account.code, {ref.code for ref, _ in wanted})
    )
    found = {
        (AccountRef.parse(code), currency): id_ for id_, code, currency in session.execute(query)
    }
    return {key: id_ for key, id_ in found.items() if key in wanted}


def _check_funds(
    session: Session, drafts: Sequence[Draft], ids: dict[tuple[AccountRef, str], int]
) -> None:
    """Refuse the batch if it would overdraw any account that holds money for someone.

    The account rows are locked first (PostgreSQL; SQLite runs one writer at a time), in id
    order so two batches never wait on each other in a circle.
    """
    outgoing: dict[int, int] = defaultdict(int)
    for draft in drafts:
        for line in draft.lines:
            if line.account.kind in NON_NEGATIVE:
                outgoing[ids[(line.account, line.amount.currency)]] += line.amount.minor
    debited = sorted(account_id for account_id, delta in outgoing.items() if delta < 0)
    if not debited:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            select(Account.id)
            .where(one_of(session, Account.id, debited))
            .order_by(Account.id)
            .with_for_update()
        )
    for account_id, held in _balances_by_id(session, debited).items():
        if held + outgoing[account_id] < 0:
            account = session.get(Account, account_id)
            assert account is not None
            have = Money(held, account.currency).format()
            need = Money(-outgoing[account_id], account.currency).format()
            raise InsufficientFundsError(f"{account.code} holds {have}; {need} needed")


def _balances_by_id(session: Session, account_ids: Sequence[int]) -> dict[int, int]:
    query = (
        select(JournalLine.account_id, func.coalesce(func.sum(JournalLine.amount_minor), 0))
        .where(one_of(session, JournalLine.account_id, account_ids))
        .group_by(JournalLine.account_id)
    )
    sums = {account_id: int(total) for account_id, total in session.execute(query)}
    return {account_id: sums.get(account_id, 0) for account_id in account_ids}


def balance(session: Session, *, account: AccountRef, currency: str) -> Money:
    """An account's balance: the sum of its lines (zero for an account never used)."""
    account_id = session.scalar(
        select(Account.id).where(Account.code == account.code, Account.currency == currency)
    )
    if account_id is None:
        return Money(0, currency)
    return Money(_balances_by_id(session, [account_id])[account_id], currency)


def balances_of(session: Session, *, participant_id: int) -> list[tuple[Account, Money]]:
    """Every account a participant owns (wallets, payouts on their way), with its balance."""
    accounts = list(
        session.scalars(
            select(Account).where(Account.participant_id == participant_id).order_by(Account.id)
        )
    )
    sums = _balances_by_id(session, [a.id for a in accounts])
    return [(a, Money(sums[a.id], a.currency)) for a in accounts]


def lines_of(session: Session, *, entry_id: int) -> list[Line]:
    query = (
        select(Account.code, JournalLine.currency, JournalLine.amount_minor)
        .join(Account, Account.id == JournalLine.account_id)
        .where(JournalLine.entry_id == entry_id)
        .order_by(JournalLine.id)
    )
    return [
        Line(AccountRef.parse(code), Money(minor, currency))
        for code, currency, minor in session.execute(query)
    ]


def reverse_entry(
    session: Session, *, entry_id: int, memo: str, at: datetime, salt: bytes
) -> JournalEntry:
    """A credit note: a new entry with every line of `entry_id` negated."""
    original = session.get(JournalEntry, entry_id)
    if original is None:
        raise NotFoundError(f"journal entry {entry_id} not found", code="unknown_entry")
    if session.scalar(select(JournalEntry.id).where(JournalEntry.reverses_id == entry_id)):
        raise ConflictError(f"entry {entry_id} is already reversed", code="already_reversed")
    draft = Draft(
        kind="reversal",
        lines=reversal(lines_of(session, entry_id=entry_id)),
        booking_id=original.booking_id,
        payment_id=original.payment_id,
        reverses_id=entry_id,
        memo=memo,
    )
    return post_entry(session, draft=draft, at=at, salt=salt)


def public_balances(session: Session, *, salt: bytes) -> dict[tuple[str, str], int]:
    """Every account's balance under the name the public log gives it (for the ledger audit)."""
    query = (
        select(Account.code, JournalLine.currency, func.sum(JournalLine.amount_minor))
        .join(Account, Account.id == JournalLine.account_id)
        .group_by(Account.code, JournalLine.currency)
    )
    return {
        (public_account_code(AccountRef.parse(code), salt), currency): int(total)
        for code, currency, total in session.execute(query)
    }
