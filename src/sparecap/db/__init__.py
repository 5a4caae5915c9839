"""Persistence: the tables (one module per feature, all on one metadata), engine and migrations.

Importing the package loads every table module, so `Base.metadata` is complete wherever it is
read (migrations, the drift test).
"""

from sparecap.db import demands, ledger, models, money, notifications

__all__ = ["demands", "ledger", "models", "money", "notifications"]
