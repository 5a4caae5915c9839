"""`sparecap ledger`: sign and show checkpoints; verify evidence bundles offline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from sparecap.domain.ledger.bundle import BundleError, verify_bundle

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
