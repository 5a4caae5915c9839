"""Starting assignments for the generalised-assignment search: regret greedy and LP rounding."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sparecap.domain.matching.core import FloatArray, IndexArray, Sense

if TYPE_CHECKING:
    from sparecap.domain.matching.gap import GapInstance

UNASSIGNED = -1
# A basic LP solution splits at most one job per agent; a share this close to 1 is a whole job.
INTEGRAL = 1 - 1e-6


def greedy_assignment(
    instance: GapInstance, sense: Sense, *, preset: IndexArray | None = None
) -> IndexArray:
    """A quick start for the search: jobs by regret, each to its best agent that still has room.

    Regret is how much worse the second-best agent is than the best; placing high-regret jobs
    first keeps them off their fallbacks. Jobs already placed in preset stay where they are.
    Jobs that find no room stay UNASSIGNED (a partial hint is still useful to CP-SAT).
    """
    signed = (instance.costs if sense is Sense.MIN else -instance.costs).astype(np.float64)
    usable = instance.usable()
    masked = np.where(usable, signed, np.inf)
    ranked = np.sort(masked, axis=0)
    # A job with a single usable agent has no fallback at all: the highest regret there is.
    regret = np.full(instance.jobs, np.finfo(np.float64).max)
    if instance.agents > 1:
        two = np.isfinite(ranked[1])
        regret[two] = ranked[1, two] - ranked[0, two]
    agent_of_job = np.full(instance.jobs, UNASSIGNED, np.int32)
    room = instance.capacities.copy()
    if preset is not None:
        placed = np.flatnonzero(preset != UNASSIGNED)
        agent_of_job[placed] = preset[placed]
        np.subtract.at(room, preset[placed], instance.weights[preset[placed], placed])
    order = np.lexsort((np.arange(instance.jobs), -regret))
    for j in order[agent_of_job[order] == UNASSIGNED]:
        fits = usable[:, j] & (instance.weights[:, j] <= room)
        if fits.any():
            i = int(np.argmin(np.where(fits, masked[:, j], np.inf)))
            agent_of_job[j] = i
            room[i] -= instance.weights[i, j]
    return agent_of_job


def lp_rounded_assignment(instance: GapInstance, sense: Sense, fractions: FloatArray) -> IndexArray:
    """Keep every job the LP relaxation places whole; place the split ones greedily.

    The whole jobs fit (the LP respects capacity with room to spare for the split parts), and
    a basic LP solution splits at most one job per agent, so little is left to the greedy.
    """
    whole = fractions.max(axis=0) >= INTEGRAL
    preset = np.where(whole, fractions.argmax(axis=0), UNASSIGNED).astype(np.int32)
    return greedy_assignment(instance, sense, preset=preset)
