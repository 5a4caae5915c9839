"""Least-cost assignment of every person to an object of its own: an ε-scaling auction.

Used on one Dulmage-Mendelsohn class of a unit market (bipartite.py), where every maximum
matching matches every node of one side, the persons, and leaves some of the other side, the
objects, over. Bertsekas' forward auction solves the balanced problem where (objects -
persons) dummy persons may take any object at no cost: a least-cost assignment of all persons
is exactly a perfect one of that problem less the dummies' objects. The dummies are never
stored as arcs: a dummy bids on the two cheapest objects, which a min-heap over the prices
answers (kept lazily: a key is a lower bound of its object's price, as prices only rise).

Exactness: costs are integers scaled by (objects + 1) and ε ends at 1, so the assignment is
within objects·ε < objects + 1 scaled, less than 1 unscaled, of the optimum: it is optimal.
Measured against OR-Tools' min-cost flow on the 100k x 100k bench market's largest class (54k
persons, 1.06M arcs): 0.95 s against 3.3 s (docs/benchmarks.md).
"""

from __future__ import annotations

import numpy as np

from sparecap.domain.matching.bipartite import FREE, adjacency
from sparecap.domain.matching.compiled import compiled
from sparecap.domain.matching.core import BoolArray, IndexArray, IntArray

# ε shrinks this many times per phase (Bertsekas suggests 4-10). Measured on the 100k bench
# market's arcs with three cost kinds, two runs each: metres 1.5-1.7 s for factors 3-6; costs
# of only 0 or 1, full of ties, 5.1-5.4 s at 4 against 6.6 s at 6; random costs alike.
EPSILON_FACTOR = 4
# A phase lets prices rise by at most 2 x (objects + 1) x (missing-choice step + ε) (see
# _auction), about 4.4 x cost span x (objects + 1)^2, over at most 32 phases (ε from 2^62 down
# by 4): past this many (cost span + 1) x (objects + 1)^2 prices could leave int64, so the
# auction declines the market and the caller solves it by min-cost flow.
PRICE_ROOM = 2**62 // 256


def fits(cost_span: int, objects: int) -> bool:
    """Whether costs spanning `cost_span` over `objects` objects stay inside the price room."""
    return (cost_span + 1) * (objects + 1) ** 2 <= PRICE_ROOM


@compiled
def assign_all_persons(
    person_of_arc: IndexArray,
    object_of_arc: IndexArray,
    cost: IntArray,
    arcs: IndexArray,
    persons_total: int,
    objects_total: int,
    used: BoolArray,
) -> bool:
    """Mark in `used` the arcs (among `arcs`) of a least-cost assignment of every person they
    touch to an object of its own; False if there is none (and nothing is marked)."""
    if arcs.size == 0:
        return True
    person_number = np.full(persons_total, FREE, np.int32)
    object_number = np.full(objects_total, FREE, np.int32)
    persons = objects = 0
    person = np.empty(arcs.size, np.int32)
    target = np.empty(arcs.size, np.int32)
    cheapest = cost[arcs[0]]
    for t in range(arcs.size):
        k = arcs[t]
        if person_number[person_of_arc[k]] == FREE:
            person_number[person_of_arc[k]] = persons
            persons += 1
        if object_number[object_of_arc[k]] == FREE:
            object_number[object_of_arc[k]] = objects
            objects += 1
        person[t] = person_number[person_of_arc[k]]
        target[t] = object_number[object_of_arc[k]]
        cheapest = min(cheapest, cost[k])
    if persons > objects:  # some person would go without: no such assignment
        return False
    person, target = _breadth_first_numbers(person, target, persons, objects)
    start, object_adj, order = adjacency(persons, person, target)
    # Benefits (the auction maximises) of each person's arcs, integer and scaled (see above).
    benefit = np.empty(arcs.size, np.int64)
    for q in range(arcs.size):
        benefit[q] = -(cost[arcs[order[q]]] - cheapest) * (objects + 1)
    object_of, benefit_of, done = _auction(start, object_adj, benefit, objects)
    if not done:
        return False
    for p in range(persons):
        for q in range(start[p], start[p + 1]):
            if object_adj[q] == object_of[p] and benefit[q] == benefit_of[p]:
                used[arcs[order[q]]] = True  # of parallel arcs, one with the winning benefit
                break
    return True


@compiled
def _breadth_first_numbers(
    person: IndexArray, target: IndexArray, persons: int, objects: int
) -> tuple[IndexArray, IndexArray]:
    """The arcs' persons and objects renumbered in breadth-first order: neighbours get near
    numbers, so a bid reads prices close together in memory."""
    p_start, p_adj, _ = adjacency(persons, person, target)
    o_start, o_adj, _ = adjacency(objects, target, person)
    p_rank = np.full(persons, FREE, np.int32)
    o_rank = np.full(objects, FREE, np.int32)
    p_queue = np.empty(persons, np.int32)
    o_queue = np.empty(objects, np.int32)
    p_seen = o_seen = 0
    for root in range(persons):
        if p_rank[root] != FREE:
            continue
        p_rank[root], p_queue[p_seen] = p_seen, root
        p_head, o_head = p_seen, o_seen
        p_seen += 1
        while p_head < p_seen or o_head < o_seen:
            while p_head < p_seen:
                i = p_queue[p_head]
                p_head += 1
                for q in range(p_start[i], p_start[i + 1]):
                    if o_rank[p_adj[q]] == FREE:
                        o_rank[p_adj[q]], o_queue[o_seen] = o_seen, p_adj[q]
                        o_seen += 1
            while o_head < o_seen:
                j = o_queue[o_head]
                o_head += 1
                for q in range(o_start[j], o_start[j + 1]):
                    if p_rank[o_adj[q]] == FREE:
                        p_rank[o_adj[q]], p_queue[p_seen] = p_seen, o_adj[q]
                        p_seen += 1
    renumbered_person = np.empty(person.size, np.int32)
    renumbered_target = np.empty(person.size, np.int32)
    for t in range(person.size):
        renumbered_person[t] = p_rank[person[t]]
        renumbered_target[t] = o_rank[target[t]]
    return renumbered_person, renumbered_target


@compiled
def _auction(
    start: IntArray, object_adj: IndexArray, benefit: IntArray, objects: int
) -> tuple[IndexArray, IntArray, bool]:
    """(object of each real person, the benefit of the arc it took, done): persons 0..n-1 have
    arcs start[p]:start[p + 1] (benefits <= 0); persons n..objects-1 are the dummies.

    Not done when a price passes what a feasible problem allows, so a bug upstream cannot make
    it bid forever. Within a phase, ε-complementary slackness along an alternating path to an
    object still free bounds every price by the phase's highest starting price plus objects x
    (benefit range + ε), plus one more missing-second-choice step for an object whose owner
    has no other arc (Bertsekas, "Auction algorithms", infeasibility detection); twice that
    is the limit.
    """
    persons = start.size - 1
    floor = np.int64(0)
    for q in range(benefit.size):
        floor = min(floor, benefit[q])
    spread = 2 * (1 - floor)  # stands in for a missing second choice: far worse than any arc
    price = np.zeros(objects, np.int64)
    key = np.zeros(objects, np.int64)  # heap keys: lower bounds of the prices
    heap = np.arange(objects).astype(np.int32)
    place = np.arange(objects).astype(np.int32)  # where each object sits in the heap
    owner = np.empty(objects, np.int32)
    object_of = np.empty(objects, np.int32)
    benefit_of = np.zeros(objects, np.int64)
    ring = np.empty(objects + 1, np.int32)
    epsilon = max(np.int64(1), -floor // EPSILON_FACTOR)
    while True:
        limit = price.max() + 2 * (objects + 1) * (spread + epsilon) if objects else 0
        owner[:] = FREE
        object_of[:] = FREE
        key[:] = price
        for k in range(objects // 2 - 1, -1, -1):
            _sift_down(heap, place, key, k)
        for i in range(objects):
            ring[i] = i
        head, tail, waiting = 0, objects, objects
        while waiting > 0:
            bidder = ring[head]
            head = (head + 1) % (objects + 1)
            waiting -= 1
            if bidder < persons:
                won, paid = _bid(start, object_adj, benefit, price, bidder, spread, epsilon)
            else:
                won, paid = _dummy_bid(heap, place, key, price, spread, epsilon), 0
            if price[won] > limit:
                return object_of[:persons].copy(), benefit_of[:persons].copy(), False
            evicted = owner[won]
            owner[won], object_of[bidder], benefit_of[bidder] = bidder, won, paid
            if evicted != FREE:
                object_of[evicted] = FREE
                ring[tail] = evicted
                tail = (tail + 1) % (objects + 1)
                waiting += 1
        if epsilon == 1:
            return object_of[:persons].copy(), benefit_of[:persons].copy(), True
        epsilon = max(np.int64(1), epsilon // EPSILON_FACTOR)


@compiled
def _bid(
    start: IntArray,
    object_adj: IndexArray,
    benefit: IntArray,
    price: IntArray,
    bidder: int,
    spread: np.int64,
    epsilon: np.int64,
) -> tuple[int, int]:
    """A real person bids for its best object (net of price) up to where the second best would
    do as well, plus ε; returns (that object, the benefit of the arc)."""
    best = second = -(np.int64(1) << 62)
    won, paid = FREE, np.int64(0)
    for q in range(start[bidder], start[bidder + 1]):
        net = benefit[q] - price[object_adj[q]]
        if net > best:
            second, best, won, paid = best, net, object_adj[q], benefit[q]
        elif net > second:
            second = net
    if second == -(np.int64(1) << 62):  # one choice only
        second = best - spread
    price[won] = paid - second + epsilon
    return int(won), int(paid)


@compiled
def _dummy_bid(
    heap: IndexArray,
    place: IndexArray,
    key: IntArray,
    price: IntArray,
    spread: np.int64,
    epsilon: np.int64,
) -> int:
    """A dummy takes the cheapest object at the second-cheapest price plus ε; returns it."""
    for at in range(min(3, heap.size)):  # the root and its children, made exact
        while key[heap[at]] != price[heap[at]]:
            key[heap[at]] = price[heap[at]]
            _sift_down(heap, place, key, at)
    won = int(heap[0])
    if heap.size > 2:
        second = min(price[heap[1]], price[heap[2]])
    elif heap.size == 2:
        second = price[heap[1]]
    else:
        second = price[won] + spread
    price[won] = second + epsilon
    key[won] = price[won]
    _sift_down(heap, place, key, 0)
    return won


@compiled
def _sift_down(heap: IndexArray, place: IndexArray, key: IntArray, at: int) -> None:
    item, size = heap[at], heap.size
    while True:
        child = 2 * at + 1
        if child >= size:
            break
        if child + 1 < size and key[heap[child + 1]] < key[heap[child]]:
            child += 1
        if key[heap[child]] >= key[item]:
            break
        heap[at] = heap[child]
        place[heap[at]] = at
        at = child
    heap[at] = item
    place[item] = at
