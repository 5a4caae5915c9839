"""The participants' inbox: notifications of what others (or the platform) did to their deals."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from sparecap.db.models import Base


class Notification(Base):
    """One notice to one participant. The words are not stored: `kind` and `data` are, and
    domain/notices.py renders them in each language when read, so a mended translation mends
    old notices too."""

    __tablename__ = "notifications"
    __table_args__ = (
        # A participant reads its newest first, often only the unread ones.
        Index("ix_notifications_participant_id", "participant_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"))
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(64))  # "booking:34", "demand:12", "quote:5"
    data: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]
