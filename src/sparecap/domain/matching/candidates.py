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
_COLUMNS = range(-_CELLS_PER_RADIUS, _CELLS_PER_RADIUS + 1)


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
    empty = Candidates(np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0))
    if demands.shape[0] == 0 or units.shape[0] == 0:
        return empty
    origin = np.minimum(demands.min(axis=0), units.min(axis=0))
    cell = radius / _CELLS_PER_RADIUS * (1 + _CELL_SLACK)
    # Empty cells on each side, so neighbour keys never wrap onto the far edge.
    pad = _CELLS_PER_RADIUS
    d_cell = np.floor((demands - origin) / cell).astype(np.int64) + pad
    u_cell = np.floor((units - origin) / cell).astype(np.int64) + pad
    rows = int(max(d_cell[:, 1].max(), u_cell[:, 1].max())) + 1 + pad
    u_key = u_cell[:, 0] * rows + u_cell[:, 1]
    order = np.argsort(u_key, kind="stable").astype(np.int32)
    sorted_keys = u_key[order]
    d_key = d_cell[:, 0] * rows + d_cell[:, 1]
    demand_idx, unit_idx = _gather(d_key, sorted_keys, order, rows)
    distance = np.hypot(
        demands[:, 0][demand_idx] - units[:, 0][unit_idx],
        demands[:, 1][demand_idx] - units[:, 1][unit_idx],
    )
    near = distance <= radius
    return _nearest(demand_idx[near], unit_idx[near], distance[near], max_candidates)


def _gather(
    d_key: IntArray, sorted_keys: IntArray, order: IndexArray, rows: int
) -> tuple[IndexArray, IndexArray]:
    """Every (demand, unit) pair whose cells touch, as two flat index arrays, demand by demand."""
    low = np.stack([d_key + dx * rows - _CELLS_PER_RADIUS for dx in _COLUMNS], axis=1).ravel()
    start = np.searchsorted(sorted_keys, low, side="left")
    counts = np.searchsorted(sorted_keys, low + 2 * _CELLS_PER_RADIUS, side="right") - start
    total = int(counts.sum())
    owner = np.repeat(np.arange(low.size, dtype=np.int64), counts)
    # Position inside each run: global position minus the run's first position.
    first = np.cumsum(counts) - counts
    within = np.arange(total, dtype=np.int64) - first[owner]
    unit_idx = order[start[owner] + within]
    demand_idx = (owner // len(_COLUMNS)).astype(np.int32)
    return demand_idx, unit_idx


def _nearest(demand: IndexArray, unit: IndexArray, distance: FloatArray, limit: int) -> Candidates:
    """Keep the `limit` nearest per demand, ordered by demand, distance, unit.

    demand arrives sorted (pairs are gathered demand by demand), so each demand's pairs form one
    run. The runs are laid out as rows of a padded matrix and sorted row by row: many short
    sorts are much faster than one global sort of millions of pairs.
    """
    if demand.size == 0:
        return Candidates(demand, unit, distance)
    run_start = np.flatnonzero(np.r_[True, demand[1:] != demand[:-1]])
    run_len = np.diff(np.r_[run_start, demand.size])
    column = np.arange(demand.size) - np.repeat(run_start, run_len)
    row = np.repeat(np.arange(run_start.size), run_len)
    dist_m = np.full((run_start.size, int(run_len.max())), np.inf)
    unit_m = np.full(dist_m.shape, np.iinfo(np.int32).max, np.int32)
    dist_m[row, column], unit_m[row, column] = distance, unit
    order = np.lexsort((unit_m, dist_m), axis=1)[:, :limit]
    dist_m = np.take_along_axis(dist_m, order, axis=1)
    unit_m = np.take_along_axis(unit_m, order, axis=1)
    keep = np.isfinite(dist_m)
    demand_m = np.broadcast_to(demand[run_start][:, None], dist_m.shape)
    return Candidates(demand_m[keep], unit_m[keep], dist_m[keep])
