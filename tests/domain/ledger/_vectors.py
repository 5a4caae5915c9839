"""Locates the shared transparency-log test vectors and turns them into pytest parameters."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from sparecap.domain.ledger.merkle import leaf_hash

# tests/domain/ledger/_vectors.py -> repository root is three levels up; the vectors live beside
# the repository in ../shared/tlog-vectors (see its SOURCES.md for provenance and licences).
REPO_ROOT = Path(__file__).resolve().parents[3]
VECTORS_DIR = (REPO_ROOT / ".." / "shared" / "tlog-vectors").resolve()
MERKLE_TESTDATA = VECTORS_DIR / "transparency-dev-merkle" / "testdata"
NOTE_KATS = VECTORS_DIR / "note-kats.json"
CCTV_ED25519 = VECTORS_DIR / "c2sp-cctv-ed25519" / "ed25519vectors.json"

MISSING_REASON = f"transparency-log test vectors not found at {VECTORS_DIR}"


def b64(text: str) -> bytes:
    return base64.b64decode(text)


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def require(path: Path) -> Path:
    """Skip the calling test with a clear reason when a vector file is absent."""
    if not path.exists():
        pytest.skip(f"{MISSING_REASON} (missing {path.name})")
    return path


def merkle_cases(kind: str) -> list[Any]:
    """One pytest param per JSON case under testdata/<kind>, id'd by its relative path."""
    folder = MERKLE_TESTDATA / kind
    if not folder.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=MISSING_REASON), id="absent")]
    files = sorted(folder.rglob("*.json"))
    return [pytest.param(f, id=str(f.relative_to(folder))) for f in files]


def reference_leaf_hashes() -> list[bytes]:
    """Leaf hashes of the RFC 6962 8-leaf reference tree the merkle vectors are built from."""
    kats = load_json(require(NOTE_KATS))
    return [leaf_hash(bytes.fromhex(h)) for h in kats["rfc6962_reference_tree"]["leaf_inputs_hex"]]
