"""`sparecap ledger`: sign and show checkpoints; verify evidence bundles offline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from sparecap.bootstrap import Settings, build_platform
from sparecap.domain.ledger.bundle import BundleError, verify_bundle
from sparecap.services.ledger_audit import LedgerAudit, audit_ledger

app = typer.Typer(help="The verifiable ledger.", no_args_is_help=True)


@app.command()
def verify(
    bundle: Annotated[Path, typer.Argument(help="Evidence bundle (JSON) from the API")],
    vkey: Annotated[
        str | None,
        typer.Option(help="The log's verifier key as you know it; default: the bundle's own"),
    ] = None,
) -> None:
    """Check a bundle without a server: the checkpoint's signature and every inclusion proof.

    Exits 0 when everything verifies, 1 naming the first thing that does not.
    """
    try:
        data = json.loads(bundle.read_text(encoding="utf-8"))
        verified = verify_bundle(data, trusted_vkey=vkey)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        typer.echo(f"FAILED: cannot read {bundle}: {exc}", err=True)
        raise typer.Exit(1) from None
    except BundleError as exc:
        typer.echo(f"FAILED: {exc}", err=True)
        raise typer.Exit(1) from None
    cp = verified.checkpoint
    typer.echo(f"OK: {len(verified.entries)} entries in {cp.origin} at size {cp.size}")
    if vkey is None:
        typer.echo("note: checked against the key inside the bundle; pass --vkey to pin the signer")
    for item in verified.entries:
        data_ = item.entry.get("data", {})
        typer.echo(
            f"  #{item.seq} {item.entry.get('at')} {item.entry.get('kind')} "
            f"{data_.get('event', '')} {data_.get('from') or '-'} -> {data_.get('to', '')}"
        )


@app.command()
def audit(
    database: Annotated[
        str | None,
        typer.Option("--database", "-d", help="Database URL (default: SPARECAP_DATABASE_URL)"),
    ] = None,
) -> None:
    """Replay the whole log and compare it with the database, naming the first divergent entry.

    Checkpoint signatures are checked with the key in the ledger key file. Exits 0 when all
    agrees, 1 at a divergence, 2 when the database cannot be opened.
    """
    # cli.main imports this module, so its _platform helper cannot be imported here.
    try:
        platform = build_platform(Settings(database_url=database) if database else Settings())
    except Exception as exc:  # a bad URL, an unreachable server or a bad key file: no traceback
        typer.echo(f"cannot open the database: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        with platform.db.read() as session:
            result = audit_ledger(
                session, verifier=platform.ledger.verifier, origin=platform.settings.ledger_origin
            )
    finally:
        platform.close()
    typer.echo(_audit_summary(result))
    if result.divergence is not None:
        typer.echo(f"  expected: {result.divergence.expected}")
        typer.echo(f"  found:    {result.divergence.found}")
        raise typer.Exit(1)


def _audit_summary(result: LedgerAudit) -> str:
    if result.divergence is not None:
        seq = result.divergence.seq
        where = f"at entry {seq}" if seq is not None else "outside any entry"
        return f"DIVERGED {where}: {result.divergence.what}"
    agree = f"OK: {result.entries} entries, {result.bookings} bookings agree"
    checkpoint = result.checkpoint
    if checkpoint is None:
        return f"{agree}; root {result.root.hex()}; no checkpoint signed yet"
    unsigned = result.entries - checkpoint.size
    later = f"; {unsigned} later entries not yet checkpointed" if unsigned else ""
    return f"{agree}; root {checkpoint.root_hash.hex()} matches checkpoint {checkpoint.size}{later}"
