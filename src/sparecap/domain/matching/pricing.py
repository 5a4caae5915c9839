"""Dual prices for square assignment: solve on a few cheap arcs, then prove optimality on all."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sparecap.domain.matching.core import IndexArray, IntArray

# Cheapest arcs kept per row and per column before the first solve. An optimal assignment of
# OR-Library-like costs uses arcs from the cheapest few of each row; pricing adds any it missed.
SEED_ARCS_PER_LINE = 12


@dataclass(frozen=True, slots=True, eq=False)
class Seed:
    """The arcs to solve on first, and the limits that every arc left out lies above."""

    rows: IndexArray
    cols: IndexArray
    row_limit: IntArray
    col_limit: IntArray


def sparse_seed(signed: IntArray, per_line: int = SEED_ARCS_PER_LINE) -> Seed:
    """Every arc among the per_line cheapest of its row or of its column (ties included)."""
    k = min(per_line, signed.shape[0])
    row_limit = np.partition(signed, k - 1, axis=1)[:, k - 1]
    col_limit = np.partition(signed, k - 1, axis=0)[k - 1, :]
    rows, cols = np.nonzero((signed <= row_limit[:, None]) | (signed <= col_limit[None, :]))
    return Seed(rows.astype(np.int32), cols.astype(np.int32), row_limit, col_limit)


def dual_potentials(
    signed: IntArray, rows: IndexArray, cols: IndexArray, mate: IndexArray
) -> tuple[IntArray, IntArray] | None:
    """Prices (row_price, col_price) with col_price[j] - row_price[i] <= signed[i, j] on the
    given arcs and equality on the matched ones, or None if they do not settle.

    They are shortest-path distances in the residual graph (arcs row -> column at their cost,
    matched arcs also column -> row at minus their cost), found by Bellman-Ford in numpy. An
    optimal assignment has no negative cycle there, so at most 2n rounds settle them.
    """
    n = signed.shape[0]
    order = np.lexsort((rows, cols))
    rows, cols = rows[order], cols[order]
    arc_cost = signed[rows, cols]
    starts = np.flatnonzero(np.r_[True, cols[1:] != cols[:-1]])
    present = cols[starts]
    matched_cost = signed[np.arange(n), mate]
    row_price = np.zeros(n, np.int64)
    col_price = np.zeros(n, np.int64)
    for _ in range(2 * n + 2):
        reach = np.minimum.reduceat(row_price[rows] + arc_cost, starts)
        new_col = col_price.copy()
        new_col[present] = np.minimum(col_price[present], reach)
        new_row = np.minimum(row_price, new_col[mate] - matched_cost)
        if np.array_equal(new_col, col_price) and np.array_equal(new_row, row_price):
            return row_price, col_price
        row_price, col_price = new_row, new_col
    return None


def priced_out(
    signed: IntArray, seed: Seed, row_price: IntArray, col_price: IntArray
) -> tuple[IndexArray, IndexArray]:
    """Arcs whose reduced cost is negative: the prices are not yet a proof for them.

    An arc left out of the seed costs more than both its row's and its column's limit, so a
    whole row (or column) whose limit already clears the prices needs no closer look; only the
    block of rows and columns that fail both tests is priced arc by arc.
    """
    rows = np.flatnonzero(seed.row_limit + row_price - col_price.max() < 0)
    cols = np.flatnonzero(seed.col_limit - col_price + row_price.min() < 0)
    block = signed[np.ix_(rows, cols)] + row_price[rows, None] - col_price[None, cols]
    bad_rows, bad_cols = np.nonzero(block < 0)
    return rows[bad_rows].astype(np.int32), cols[bad_cols].astype(np.int32)
