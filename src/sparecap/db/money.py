"""Tables of the money flow: accounts, journal entries and lines, payments, settlements."""

from __future__ import annotations
