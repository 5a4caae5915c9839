"""The `sparecap notifications` commands: read your inbox and mark it read.

The same use cases as GET /v1/notifications and its read calls, acting as a participant; each
notice in the locale's language (domain/notices.py words it).
"""

from __future__ import annotations

from typing import Annotated

import typer

from sparecap.cli.common import AsOpt, DatabaseOpt, acting
from sparecap.cli.text import language, say
from sparecap.db.notifications import Notification
from sparecap.domain.notices import render
from sparecap.services.ids import MAX_ID
from sparecap.services.notifications import list_notifications, read_notifications

app = typer.Typer(
    help="Your notifications: what others, or the platform, did to your deals.",
    no_args_is_help=True,
)


@app.command("list")
def list_(
    as_: AsOpt,
    unread: Annotated[bool, typer.Option("--unread", help="Only those not yet read")] = False,
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many")] = 50,
    database: DatabaseOpt = None,
) -> None:
    """Your notifications, newest first."""
    with acting(database, as_) as a:
        notes = list_notifications(a.session, principal=a.who, unread=unread, limit=limit)
        lines = [_line(n) for n in notes]
    for line in lines or [say("no_notices")]:
        typer.echo(line)


def _line(note: Notification) -> str:
    return say(
        "notice",
        id=note.id,
        at=note.created_at.strftime("%Y-%m-%d %H:%M UTC"),
        unread=say("unread") if note.read_at is None else "",
        text=render(note.kind, note.data)[language()],
    )


@app.command()
def read(
    as_: AsOpt,
    notification_id: Annotated[
        int | None, typer.Argument(min=1, max=MAX_ID, help="One notification (default: all)")
    ] = None,
    up_to: Annotated[
        int | None, typer.Option(min=1, max=MAX_ID, help="All up to this notification")
    ] = None,
    database: DatabaseOpt = None,
) -> None:
    """Mark one notification read, or all of them (up to --up-to)."""
    if notification_id is not None and up_to is not None:
        raise typer.BadParameter(say("one_or_up_to"))
    with acting(database, as_, write=True) as a:
        marked = read_notifications(a.session, ctx=a.ctx, principal=a.who,
                                    notification_id=notification_id, up_to=up_to)  # fmt: skip
    typer.echo(say("marked", count=marked))
