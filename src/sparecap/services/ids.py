"""The ids a caller may name: a larger one cannot even be looked up.

Ids are 32-bit integers on PostgreSQL and 64-bit on SQLite; a number past the column's range
makes the database driver raise instead of finding nothing, so requests refuse it first (422).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

MAX_ID = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
# SQL's OFFSET is a signed 64-bit integer on both databases.
MAX_OFFSET = 2**63 - 1
