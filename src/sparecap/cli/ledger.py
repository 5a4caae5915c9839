"""`sparecap ledger`: sign and show checkpoints, verify evidence bundles offline, audit the log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from sparecap.bootstrap.scheduler import sign_checkpoint_once
from sparecap.cli.common import DatabaseOpt, open_platform
from sparecap.domain.ledger.bundle import BundleError, verify_bundle
from sparecap.domain.ledger.note import Ed25519NoteVerifier
from sparecap.services.ledger import latest_checkpoint
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
    database: DatabaseOpt = None,
    vkey: Annotated[
        str | None,
        typer.Option(help="Check checkpoint signatures with this verifier key, not the key file"),
    ] = None,
) -> None:
    """Replay the whole log and compare it with the database, naming the first divergent entry.

    Exits 0 when all agrees, 1 at a divergence, 2 when the database cannot be opened.
    """
    with open_platform(database) as platform, platform.db.read() as session:
        verifier = Ed25519NoteVerifier.from_vkey(vkey) if vkey else platform.ledger.verifier
        result = audit_ledger(session, verifier=verifier, origin=platform.settings.ledger_origin)
    typer.echo(_audit_summary(result))
    if result.divergence is not None:
        typer.echo(f"  expected: {result.divergence.expected}")
        typer.echo(f"  found:    {result.divergence.found}")
        raise typer.Exit(1)


@app.command()
def checkpoint(database: DatabaseOpt = None) -> None:
    """Sign the current tree head (if it grew) and print the newest checkpoint."""
    with open_platform(database) as platform:
        sign_checkpoint_once(platform)
        with platform.db.read() as session:
            typer.echo(latest_checkpoint(session).note, nl=False)


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
