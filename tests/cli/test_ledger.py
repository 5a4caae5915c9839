"""`sparecap ledger` in a Chinese locale: people read zh-CN, scripts still find their prefixes.

The English output of these commands is tested beside the services they wrap
(tests/services/test_ledger*.py); here the same commands run with LANG=zh_CN.UTF-8.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner, Result

from sparecap.bootstrap import Platform
from sparecap.cli.main import app
from sparecap.gateways.ledger_keys import load_or_create_keys
from sparecap.services.bookings import BookingIn, create_booking
from sparecap.services.ledger import latest_checkpoint
from sparecap.services.ledger_finality import final_evidence_bundle
from tests.support.market import charger_spec, make_resource, party

TEN = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
ORIGIN = "sparecap.local/ledger"
ZH = {"SPARECAP_LANG": "", "LC_ALL": "", "LC_MESSAGES": "", "LANG": "zh_CN.UTF-8"}
runner = CliRunner()


def _zh(platform: Platform, *args: str) -> Result:
    env = {**ZH, "SPARECAP_LEDGER_KEY_PATH": str(platform.settings.ledger_key_path)}
    return runner.invoke(app, list(args), env=env)


def _book(platform: Platform, hour: int) -> None:
    provider = party(platform, f"Provider {hour}", "provider")
    demander = party(platform, f"Demander {hour}", "demander")
    resource = make_resource(platform, provider, charger_spec())
    start = TEN + timedelta(hours=hour)
    with platform.db.write() as s:
        request = BookingIn(resource_id=resource, start=start, end=start + timedelta(hours=1))
        create_booking(s, ctx=platform.ctx, principal=demander.principal, request=request)


def test_the_ledger_commands_speak_chinese_and_keep_their_prefixes(
    platform: Platform, db_url: str, tmp_path: Path
) -> None:
    _book(platform, 0)  # a hold and a book: two entries
    checkpoint = _zh(platform, "ledger", "checkpoint", "-d", db_url)
    assert checkpoint.exit_code == 0, checkpoint.output
    with platform.db.read() as s:  # the signed note exactly, in any locale
        assert checkpoint.output == latest_checkpoint(s).note
        bundle = final_evidence_bundle(
            s, seqs=[0, 1], origin=ORIGIN, keys=platform.ledger, policy=platform.finality
        )
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))

    pinned = _zh(platform, "ledger", "verify", str(path), "--vkey", bundle["verifier_key"])
    assert pinned.exit_code == 0, pinned.output
    lines = pinned.output.splitlines()
    assert lines[0] == f"OK: {ORIGIN} 中的 2 个条目验证通过（检查点大小 2）"
    assert lines[1].startswith("  #0 ") and lines[1].endswith(" hold - -> held")
    unpinned = _zh(platform, "ledger", "verify", str(path))
    assert "注意：仅用证据包自带的密钥核验；请用 --vkey 指定您信任的签名密钥" in unpinned.output

    bundle["entries"][1]["payload"] = bundle["entries"][1]["payload"].replace("confirmed", "x")
    path.write_text(json.dumps(bundle))
    forged = _zh(platform, "ledger", "verify", str(path))
    assert forged.exit_code == 1
    assert forged.output.startswith("FAILED: 验证未通过：entry #1 (seq 1): not in the signed log")
    missing = _zh(platform, "ledger", "verify", str(tmp_path / "none.json"))
    assert missing.exit_code == 1 and missing.output.startswith(
        f"FAILED: 无法读取 {tmp_path / 'none.json'}："
    )

    audit = _zh(platform, "ledger", "audit", "-d", db_url)
    assert audit.exit_code == 0, audit.output
    assert audit.output.startswith("OK: 2 个条目、1 笔预订和 ")
    assert audit.output.rstrip().endswith("与检查点 2 一致")
    _book(platform, 2)
    later = _zh(platform, "ledger", "audit", "-d", db_url)
    assert later.exit_code == 0 and "；另有 2 个后续条目尚未纳入检查点" in later.output

    # No witnesses configured: the newest checkpoint is final on the log's signature alone.
    cosign = _zh(platform, "ledger", "cosign", "-d", db_url)
    assert cosign.exit_code == 0, cosign.output
    assert cosign.output == "检查点 4：已最终确认（final）（0/0）\n"

    rotated = _zh(platform, "ledger", "rotate-key")
    assert rotated.exit_code == 0, rotated.output
    retired, new = rotated.output.splitlines()
    assert retired.startswith("已停用的密钥（停用于 ") and f"）：{ORIGIN}+" in retired
    assert new.startswith(f"新的签名密钥：{ORIGIN}+")


def test_a_failed_rotation_keeps_its_prefix_in_chinese(tmp_path: Path) -> None:
    key = tmp_path / "ledger.key"
    load_or_create_keys(key, "other.example/log")
    env = {**ZH, "SPARECAP_LEDGER_KEY_PATH": str(key)}
    result = runner.invoke(app, ["ledger", "rotate-key"], env=env)
    assert result.exit_code == 1
    assert (
        result.output.startswith("FAILED: 无法轮换检查点密钥：") and "not this log" in result.output
    )
