"""Tables of demand posts, quotes, matching rounds and matches."""

from __future__ import annotations
