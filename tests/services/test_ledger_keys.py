"""Rotating the checkpoint key: new checkpoints use the new key, old ones still verify."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from sparecap.api.app import create_app
from sparecap.bootstrap import Platform, Settings, build_platform
from sparecap.bootstrap.scheduler import sign_checkpoint_once
from sparecap.cli.main import app as cli
from sparecap.domain.clock import FixedClock
from sparecap.domain.ledger.replay import Check
from sparecap.gateways.ledger_keys import KeyFileError, load_or_create_keys, rotate_keys
from sparecap.services.ledger import append_entry
from sparecap.services.ledger_audit import audit_ledger
from sparecap.services.ledger_finality import final_evidence_bundle
from tests.conftest import T0

ORIGIN = "sparecap.local/ledger"


def grow(platform: Platform, count: int) -> int:
    with platform.db.write() as s:
        for i in range(count):
            append_entry(s, kind="test", subject=f"test:{i}", at=T0, data={"n": i})
    return sign_checkpoint_once(platform)


def reopen(platform: Platform) -> Platform:
    """A server restart: the keys are read again from their files."""
    platform.close()
    return build_platform(platform.settings, clock=FixedClock(T0))


def test_rotation_keeps_the_salt_and_the_old_public_key_in_private_files(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "ledger.key"
    before = load_or_create_keys(path, ORIGIN)
    after = rotate_keys(path, ORIGIN, now=T0)
    assert after.salt == before.salt  # pseudonyms on the log keep their meaning
    assert after.verifier.vkey != before.verifier.vkey
    assert [(r.verifier.vkey, r.retired_at) for r in after.retired] == [(before.verifier.vkey, T0)]
    assert "PRIVATE" not in path.with_name("ledger.key.retired").read_text()
    for file in (path, path.with_name("ledger.key.retired")):
        assert stat.S_IMODE(file.stat().st_mode) == 0o600
    again = rotate_keys(path, ORIGIN, now=T0)
    assert [r.verifier.vkey for r in again.retired] == [before.verifier.vkey, after.verifier.vkey]
    path.with_name("ledger.key.retired").chmod(0o644)
    with pytest.raises(KeyFileError, match="readable by other users"):
        load_or_create_keys(path, ORIGIN)


def test_checkpoints_from_before_a_rotation_verify_with_the_retired_key(
    platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    grow(platform, 3)
    old_vkey = platform.ledger.verifier.vkey
    monkeypatch.setenv("SPARECAP_LEDGER_KEY_PATH", str(platform.settings.ledger_key_path))
    result = CliRunner().invoke(cli, ["ledger", "rotate-key"])
    assert result.exit_code == 0, result.output
    platform = reopen(platform)
    try:
        new_vkey = platform.ledger.verifier.vkey
        assert new_vkey != old_vkey and new_vkey in result.output
        # No checkpoint since the rotation: a bundle names the old key, which signed it.
        with platform.db.read() as s:
            bundle = final_evidence_bundle(
                s, seqs=[1], origin=ORIGIN, keys=platform.ledger, policy=platform.finality
            )
        assert bundle["verifier_key"] == old_vkey
        grow(platform, 2)
        with TestClient(create_app(platform, background=False)) as api:
            keys = api.get("/v1/ledger/key").json()
            bundle = api.get("/v1/ledger/entries/1").json()
        assert keys["verifier_key"] == new_vkey
        assert [k["verifier_key"] for k in keys["retired_keys"]] == [old_vkey]
        assert bundle["checkpoint"].startswith(f"{ORIGIN}\n5\n")
        with platform.db.read() as s:  # an audit pins its own snapshot: one session each
            whole = audit_ledger(s, verifiers=platform.ledger.verifiers, origin=ORIGIN)
        with platform.db.read() as s:
            new_only = audit_ledger(s, verifiers=[platform.ledger.verifier], origin=ORIGIN)
        assert whole.ok and whole.checkpoint is not None and whole.checkpoint.size == 5
        assert new_only.divergence is not None and new_only.divergence.check == Check.CHECKPOINT
        assert "checkpoint 3 does not verify" in new_only.divergence.what
    finally:
        platform.close()


def test_an_evidence_bundle_signed_after_rotation_verifies_with_the_new_key_only(
    platform: Platform, tmp_path: Path
) -> None:
    grow(platform, 2)
    old_vkey = platform.ledger.verifier.vkey
    rotate_keys(platform.settings.ledger_key_path, ORIGIN, now=T0)
    platform = reopen(platform)
    try:
        grow(platform, 1)
        with platform.db.read() as s:
            bundle = final_evidence_bundle(
                s, seqs=[0, 2], origin=ORIGIN, keys=platform.ledger, policy=platform.finality
            )
        path = tmp_path / "bundle.json"
        path.write_text(json.dumps(bundle))
        runner = CliRunner()
        new = runner.invoke(cli, ["ledger", "verify", str(path), "--vkey", bundle["verifier_key"]])
        old = runner.invoke(cli, ["ledger", "verify", str(path), "--vkey", old_vkey])
        assert new.exit_code == 0, new.output
        assert old.exit_code == 1 and "checkpoint" in old.output
    finally:
        platform.close()


def test_rotate_key_refuses_a_key_file_of_another_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ledger.key"
    load_or_create_keys(path, "other.example/log")
    monkeypatch.setenv("SPARECAP_LEDGER_KEY_PATH", str(path))
    result = CliRunner().invoke(cli, ["ledger", "rotate-key"])
    assert result.exit_code == 1 and "not this log" in result.output
    assert Settings().ledger_origin == ORIGIN
