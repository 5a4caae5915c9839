"""Evidence records: a fingerprint on the ledger, proved offline, owner kept private."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from typer.testing import CliRunner

from sparecap.bootstrap import Platform
from sparecap.bootstrap.scheduler import sign_checkpoint_once
from sparecap.cli.main import app as cli
from tests.api.conftest import Api
from tests.support.market import Party

DESIGN = hashlib.sha256(b"a bracket design, rev 3").hexdigest()


def test_register_prove_and_look_up_a_fingerprint(
    api: Api, people: dict[str, Party], platform: Platform, tmp_path: Path
) -> None:
    body = {"sha256": DESIGN.upper(), "title": "支架设计 rev 3", "media_type": "application/step"}
    created = api.post("/v1/evidence", people["provider"], body)
    assert created.status_code == 201, created.text
    record = created.json()
    assert record["sha256"] == DESIGN and record["ledger_seq"] == 0
    not_yet = api.get(f"/v1/evidence/{record['id']}", people["provider"])
    assert not_yet.json()["error"]["code"] in {"no_checkpoint", "not_yet_checkpointed"}
    sign_checkpoint_once(platform)
    proof = api.get(f"/v1/evidence/{record['id']}", people["provider"]).json()
    entry = json.loads(proof["bundle"]["entries"][0]["payload"])
    assert (
        entry["data"]["sha256"] == DESIGN and "支架" not in proof["bundle"]["entries"][0]["payload"]
    )
    path = tmp_path / "evidence.json"
    path.write_text(json.dumps(proof["bundle"]))
    vkey = api.get("/v1/ledger/key").json()["verifier_key"]
    result = CliRunner().invoke(cli, ["ledger", "verify", str(path), "--vkey", vkey])
    assert result.exit_code == 0, result.output
    # Anyone may ask who was first, and learns when and where on the log, not who.
    stamps = api.get("/v1/evidence", people["other"], sha256=DESIGN).json()
    assert stamps == [{k: record[k] for k in ("id", "sha256", "ledger_seq", "created_at")}]
    assert api.get(f"/v1/evidence/{record['id']}", people["other"]).status_code == 404
    assert api.get(f"/v1/evidence/{record['id']}", people["auditor"]).status_code == 200


def test_bad_fingerprints_and_read_only_auditors_are_refused(
    api: Api, people: dict[str, Party]
) -> None:
    bad = api.post("/v1/evidence", people["provider"], {"sha256": "abc", "title": "x"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_input"
    auditor = api.post("/v1/evidence", people["auditor"], {"sha256": DESIGN, "title": "x"})
    assert auditor.status_code == 403
