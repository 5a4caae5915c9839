"""`sparecap notifications`: a participant reads its own inbox in its language and marks it
read; another's notice is not found, and bad input is a usage error that writes nothing."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from sparecap.bootstrap import Platform
from sparecap.db.notifications import Notification
from tests.cli.test_negotiation import _at, _cli, _id, _market, _post, _start

ZH = {"SPARECAP_LANG": "", "LC_ALL": "", "LC_MESSAGES": "", "LANG": "zh_CN.UTF-8"}


def _unread(platform: Platform) -> list[int]:
    with platform.db.read() as s:
        return list(s.scalars(select(Notification.id).where(Notification.read_at.is_(None))))


def test_a_demander_reads_of_a_quote_and_marks_it_read(platform: Platform, db_url: str) -> None:
    provider, demander, resource = _market(platform)
    demand = _id(r"demand (\d+):", _post(db_url, demander).output)
    inbox = ["notifications", "list", "--as", str(demander.id)]
    assert _cli(db_url, *inbox).output == "no notifications\n"
    start = _start()
    quote = _id(r"quote (\d+) on", _cli(
        db_url, "quote", "create", str(demand), "--as", str(provider.id), "--resource",
        str(resource), "--price", "4500", "--quantity", "1", "--start", _at(start),
        "--end", _at(start + timedelta(hours=1)),
    ).output)  # fmt: skip
    english = _cli(db_url, *inbox)
    note = _id(r"notification (\d+) \(", english.output)
    assert english.output.endswith(
        f", unread): You have a quote {quote} on your demand {demand}.\n"
    )
    chinese = _cli(db_url, *inbox, env=ZH).output
    assert chinese.startswith(f"通知 {note}（") and chinese.endswith(
        f"，未读）：您的需求 {demand} 收到报价 {quote}。\n"
    )
    assert _cli(db_url, "notifications", "list", "--as", str(provider.id)).output == (
        "no notifications\n"  # nobody hears of their own act
    )
    # Not the provider's to mark; an id and --up-to together is a usage error.
    theirs = _cli(db_url, "notifications", "read", str(note), "--as", str(provider.id))
    assert theirs.exit_code == 1 and "unknown_notification" in theirs.output
    both = _cli(db_url, "notifications", "read", str(note), "--up-to", str(note),
                "--as", str(demander.id))  # fmt: skip
    assert both.exit_code == 2 and "not both" in both.output
    assert _unread(platform) == [note]
    marked = _cli(db_url, "notifications", "read", str(note), "--as", str(demander.id), env=ZH)
    assert marked.exit_code == 0 and marked.output == "已将 1 条标为已读\n"
    assert _unread(platform) == []
    assert ", unread" not in _cli(db_url, *inbox).output
    assert _cli(db_url, *inbox, "--unread").output == "no notifications\n"
