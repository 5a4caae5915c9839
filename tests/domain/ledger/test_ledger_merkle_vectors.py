"""Every transparency-dev/merkle inclusion and consistency case, valid and invalid; RFC roots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sparecap.domain.ledger.memory import MemoryTree
from sparecap.domain.ledger.merkle import (
    ConsistencyProofError,
    InclusionProofError,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)

from ._vectors import (
    MERKLE_TESTDATA,
    NOTE_KATS,
    b64,
    load_json,
    merkle_cases,
    reference_leaf_hashes,
    require,
)


def _reference_tree() -> MemoryTree:
    tree = MemoryTree()
    for h in reference_leaf_hashes():
        tree.append_leaf_hash(h)
    return tree


@pytest.mark.parametrize("path", merkle_cases("inclusion"))
def test_inclusion_vector(path: Path) -> None:
    case = load_json(path)
    args = (
        b64(case["leafHash"]),
        case["leafIdx"],
        case["treeSize"],
        [b64(p) for p in case["proof"] or []],
        b64(case["root"]),
    )
    if case["wantErr"]:
        with pytest.raises(InclusionProofError):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)


@pytest.mark.parametrize("path", merkle_cases("consistency"))
def test_consistency_vector(path: Path) -> None:
    case = load_json(path)
    args = (
        case["size1"],
        case["size2"],
        b64(case["root1"]),
        b64(case["root2"]),
        [b64(p) for p in case["proof"] or []],
    )
    if case["wantErr"]:
        with pytest.raises(ConsistencyProofError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


def test_suite_is_complete() -> None:
    # SOURCES.md promises 98 cases of each kind; a silently shrunken folder must not pass.
    require(MERKLE_TESTDATA)
    counts = {
        k: len(list((MERKLE_TESTDATA / k).rglob("*.json"))) for k in ("inclusion", "consistency")
    }
    assert counts == {"inclusion": 98, "consistency": 98}
    invalid = [
        p
        for k in ("inclusion", "consistency")
        for p in (MERKLE_TESTDATA / k).rglob("*.json")
        if load_json(p)["wantErr"]
    ]
    assert len(invalid) == 98 + 98 - 12  # six happy paths per kind


def _valid_cases(kind: str) -> list[dict[str, Any]]:
    folder = require(MERKLE_TESTDATA / kind)
    cases = [load_json(p) for p in sorted(folder.rglob("*.json"))]
    return [c for c in cases if not c["wantErr"]]


def test_generated_inclusion_proofs_match_valid_vectors() -> None:
    tree = _reference_tree()
    regenerated = 0
    for case in _valid_cases("inclusion"):
        size = case["treeSize"]
        if size > tree.size or tree.root(size) != b64(case["root"]):
            continue  # the single-entry case is over another tree
        proof = tree.inclusion_proof(case["leafIdx"], size)
        assert proof == [b64(p) for p in case["proof"] or []], case
        regenerated += 1
    assert regenerated == 5


def test_generated_consistency_proofs_match_valid_vectors() -> None:
    tree = _reference_tree()
    regenerated = 0
    for case in _valid_cases("consistency"):
        size1, size2 = case["size1"], case["size2"]
        if size2 > tree.size or tree.root(size2) != b64(case["root2"]):
            continue  # the "additional" equal-size case uses placeholder roots
        assert tree.root(size1) == b64(case["root1"])
        proof = tree.consistency_proof(size1, size2)
        assert proof == [b64(p) for p in case["proof"] or []], case
        regenerated += 1
    assert regenerated == 5


def test_reference_tree_roots_for_every_size() -> None:
    kats = load_json(require(NOTE_KATS))["rfc6962_reference_tree"]
    leaves = reference_leaf_hashes()
    tree = _reference_tree()
    for size, root_hex in kats["root_hashes_hex_by_size"].items():
        expected = bytes.fromhex(root_hex)
        assert root_from_leaf_hashes(leaves[: int(size)]) == expected, size
        assert tree.root(int(size)) == expected, size
