"""Candidate arcs by place: each demand's nearest units within a radius, found via grid buckets."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from sparecap.domain.matching.core import FloatArray, IndexArray, IntArray, MatchingInputError

# Cells are a half radius wide, so every unit within the radius lies in the 5 x 5 block of cells
# around a demand's own cell. Half-radius cells look at 6.25 r^2 of area per demand instead of
# the 9 r^2 of radius-wide cells, which cuts the pairs to measure by about a third.
_CELLS_PER_RADIUS = 2
# Cells a hair wider than half the radius, so float rounding of a point on a cell edge can
# never push a pair exactly one radius apart three cells from each other.
_CELL_SLACK = 1e-9
# Cell keys run column by column, so each column of the block is one contiguous key range.
_COLUMNS = np.arange(-_CELLS_PER_RADIUS, _CELLS_PER_RADIUS + 1)
# Squared distances pre-filter the pairs before the exact np.hypot test; the bound is widened
# by far more than the rounding of dx*dx + dy*dy, so no pair within the radius is dropped.
_SQUARED_SLACK = 1e-9
# Demands handled per pass: about 60 pairs each, so a pass's scratch arrays are a few MiB.
_DEMANDS_PER_BLOCK = 4096
# Up to this many grid cells per point, cell starts come from a lookup table (one int64 each);
# beyond it, from binary search.
_TABLE_CELLS_PER_POINT = 8


@dataclass(frozen=True, slots=True, eq=False)
class Candidates:
    """demand[k] may use unit[k], which lies distance[k] away; sorted by demand, then distance."""

    demand: IndexArray
    unit: IndexArray
    distance: FloatArray


def _points(values: ArrayLike, name: str) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise MatchingInputError(f"{name} must be an (n, 2) array of planar coordinates")
    if not np.all(np.isfinite(arr)):
        raise MatchingInputError(f"{name} must hold finite coordinates")
    return arr


def nearby_candidates(
    demand_xy: ArrayLike, unit_xy: ArrayLike, *, radius: float, max_candidates: int
) -> Candidates:
    """The up-to-max_candidates nearest units within radius of each demand (planar metres).

    Units are bucketed into square cells and sorted by cell; each demand looks only at the
    block of cells that covers its disc. Ties in distance go to the lower unit index.
    """
    demands, units = _points(demand_xy, "demand_xy"), _points(unit_xy, "unit_xy")
    if radius <= 0 or max_candidates <= 0:
        raise MatchingInputError("radius and max_candidates must be positive")
    if demands.shape[0] == 0 or units.shape[0] == 0:
        return Candidates(np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0))
    origin = np.minimum(demands.min(axis=0), units.min(axis=0))
    cell = radius / _CELLS_PER_RADIUS * (1 + _CELL_SLACK)
    # Empty cells on each side, so neighbour keys never wrap onto the far edge.
    pad = _CELLS_PER_RADIUS
    d_cell = np.floor((demands - origin) / cell).astype(np.int64) + pad
    u_cell = np.floor((units - origin) / cell).astype(np.int64) + pad
    rows = int(max(d_cell[:, 1].max(), u_cell[:, 1].max())) + 1 + pad
    u_key = u_cell[:, 0] * rows + u_cell[:, 1]
    order = np.argsort(u_key, kind="stable").astype(np.int32)
    # Coordinates in cell order: each demand reads a few contiguous runs of these.
    ux, uy = units[order, 0], units[order, 1]
    d_key = d_cell[:, 0] * rows + d_cell[:, 1]
    # Demands are visited in cell order, a block at a time: neighbouring demands read the same
    # runs of units while they are still in cache, and each block's scratch arrays stay small
    # enough to be reused rather than faulted in afresh.
    visit = np.argsort(d_key, kind="stable").astype(np.int32)
    start, counts = _cell_runs(d_key[visit], u_key[order], rows)
    start, counts = start.reshape(-1, _COLUMNS.size), counts.reshape(-1, _COLUMNS.size)
    blocks = []
    for first in range(0, visit.size, _DEMANDS_PER_BLOCK):
        block = slice(first, first + _DEMANDS_PER_BLOCK)
        ids = visit[block]
        run_start, run_len = start[block].ravel(), counts[block].ravel()
        per_demand = counts[block].sum(axis=1)
        # A run's positions are start, start + 1, ...: a running count shifted per run.
        shift = run_start - (np.cumsum(run_len) - run_len)
        position = np.arange(int(run_len.sum())) + np.repeat(shift, run_len)
        dx = np.repeat(demands[ids, 0], per_demand) - ux[position]
        dy = np.repeat(demands[ids, 1], per_demand) - uy[position]
        maybe = dx * dx + dy * dy <= radius * radius * (1 + _SQUARED_SLACK)
        # The exact test and the reported distance are np.hypot, as a caller would compute.
        distance = np.hypot(dx[maybe], dy[maybe])
        near = distance <= radius
        owner = np.repeat(np.arange(ids.size), per_demand)[maybe][near]
        nearest = _nearest(
            ids.size, owner, order[position[maybe][near]], distance[near], max_candidates
        )
        blocks.append((ids, *nearest))
    # Back to demand order: each block's rows go to its demands' rows of one padded matrix,
    # no wider than the most candidates any demand has.
    width = max(dist.shape[1] for _, dist, _ in blocks)
    best_dist = np.full((demands.shape[0], width), np.inf)
    best_unit = np.zeros(best_dist.shape, np.int32)
    for ids, dist, unit in blocks:
        best_dist[ids, : dist.shape[1]], best_unit[ids, : dist.shape[1]] = dist, unit
    keep = np.isfinite(best_dist)
    demand = np.broadcast_to(np.arange(demands.shape[0], dtype=np.int32)[:, None], keep.shape)
    return Candidates(demand[keep], best_unit[keep], best_dist[keep])


def _cell_runs(d_key: IntArray, sorted_keys: IntArray, rows: int) -> tuple[IntArray, IntArray]:
    """First position and length of each column of each demand's block, in cell order.

    With no more cells than a few per point, a table of where each cell starts answers every
    lookup by indexing; a sparse, spread-out market falls back to binary search instead of
    allocating a table for mostly empty cells.
    """
    low = (d_key[:, None] + _COLUMNS * rows - _CELLS_PER_RADIUS).ravel()
    high = low + 2 * _CELLS_PER_RADIUS + 1
    cells = int(max(d_key.max(), sorted_keys[-1])) + _CELLS_PER_RADIUS * (rows + 1) + 2
    if cells <= _TABLE_CELLS_PER_POINT * (d_key.size + sorted_keys.size):
        first = np.zeros(cells + 1, np.int64)
        np.cumsum(np.bincount(sorted_keys, minlength=cells), out=first[1:])
        start = first[low]
        return start, first[high] - start
    start = np.searchsorted(sorted_keys, low, side="left")
    return start, np.searchsorted(sorted_keys, high, side="left") - start


def _nearest(
    rows: int, owner: IntArray, unit: IndexArray, distance: FloatArray, limit: int
) -> tuple[FloatArray, IndexArray]:
    """The `limit` nearest (distance, unit) of each row, by distance then unit; inf pads.

    owner[k] is the row of pair k and arrives sorted. Each row's pairs are laid out in a padded
    matrix and sorted row by row: many short sorts are much faster than one sort of all pairs.
    A plain sort by distance leaves equal distances in any order, so the few rows with a tie
    among their kept pairs are sorted again by (distance, unit).
    """
    if owner.size == 0:
        return np.full((rows, 0), np.inf), np.zeros((rows, 0), np.int32)
    group_start = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    group_len = np.diff(np.r_[group_start, owner.size])
    column = np.arange(owner.size) - np.repeat(group_start, group_len)
    dist_m = np.full((rows, int(group_len.max())), np.inf)
    unit_m = np.full(dist_m.shape, np.iinfo(np.int32).max, np.int32)
    dist_m[owner, column], unit_m[owner, column] = distance, unit
    order = np.argsort(dist_m, axis=1)
    # A tie matters if it sits among the kept pairs or straddles the cut at `limit`.
    head = np.take_along_axis(dist_m, order[:, : limit + 1], axis=1)
    tied = np.flatnonzero(((head[:, 1:] == head[:, :-1]) & np.isfinite(head[:, 1:])).any(axis=1))
    if tied.size:
        order[tied] = np.lexsort((unit_m[tied], dist_m[tied]), axis=1)
    order = order[:, :limit]
    return np.take_along_axis(dist_m, order, axis=1), np.take_along_axis(unit_m, order, axis=1)
