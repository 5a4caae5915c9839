"""`sparecap ledger`: sign and show checkpoints, collect witnesses' cosignatures, verify
evidence bundles offline, audit the log, rotate the checkpoint key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from sparecap.bootstrap import Settings
from sparecap.bootstrap.scheduler import cosign_once, sign_checkpoint_once
from sparecap.cli.common import DatabaseOpt, open_platform
from sparecap.domain.clock import SystemClock
from sparecap.domain.ledger.bundle import VerifiedBundle, verify_bundle
from sparecap.domain.ledger.cosignature import CosignatureVerifier
from sparecap.domain.ledger.errors import LedgerError
from sparecap.domain.ledger.note import Ed25519NoteVerifier
from sparecap.gateways.ledger_keys import KeyFileError, rotate_keys
from sparecap.gateways.witness_client import HttpWitnessClient
from sparecap.services.ledger import latest_checkpoint
from sparecap.services.ledger_audit import LedgerAudit, audit_ledger
from sparecap.services.ledger_finality import cosigned

app = typer.Typer(help="The verifiable ledger.", no_args_is_help=True)


@app.command()
def verify(
    bundle: Annotated[Path, typer.Argument(help="Evidence bundle (JSON) from the API")],
    vkey: Annotated[
        str | None,
        typer.Option(help="The log's verifier key as you know it; default: the bundle's own"),
    ] = None,
    witness: Annotated[
        list[str] | None,
        typer.Option(help="A witness's cosignature verifier key you trust (repeatable)"),
    ] = None,
    quorum: Annotated[
        int | None,
        typer.Option(min=0, help="Cosignatures needed for finality; default: every --witness"),
    ] = None,
) -> None:
    """Check a bundle without a server: the checkpoint's signature, every inclusion proof, and
    (with --witness) that enough trusted witnesses cosigned the checkpoint.

    Exits 0 when everything verifies, 1 naming the first thing that does not.
    """
    try:
        data = json.loads(bundle.read_text(encoding="utf-8"))
        witnesses = [CosignatureVerifier.from_vkey(w) for w in witness or []]
        needed = len(witnesses) if quorum is None else quorum
        verified = verify_bundle(data, trusted_vkey=vkey, witnesses=witnesses, quorum=needed)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        typer.echo(f"FAILED: cannot read {bundle}: {exc}", err=True)
        raise typer.Exit(1) from None
    except LedgerError as exc:  # a BundleError, or a malformed --witness key
        typer.echo(f"FAILED: {exc}", err=True)
        raise typer.Exit(1) from None
    _print_verified(verified, pinned=vkey is not None, quorum=needed)


def _print_verified(verified: VerifiedBundle, *, pinned: bool, quorum: int) -> None:
    cp = verified.checkpoint
    typer.echo(f"OK: {len(verified.entries)} entries in {cp.origin} at size {cp.size}")
    if not pinned:
        typer.echo("note: checked against the key inside the bundle; pass --vkey to pin the signer")
    if quorum:
        names = ", ".join(verified.cosigned_by)
        typer.echo(f"final: cosigned by {names} (quorum {quorum})")
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
        list[str] | None,
        typer.Option(
            help="Check checkpoint signatures with this verifier key (repeat for retired keys), "
            "not the key files"
        ),
    ] = None,
) -> None:
    """Replay the whole log and compare it with the database, naming the first divergent entry.

    Exits 0 when all agrees, 1 at a divergence, 2 when the database cannot be opened.
    """
    with open_platform(database) as platform, platform.db.read() as session:
        verifiers = (
            [Ed25519NoteVerifier.from_vkey(k) for k in vkey] if vkey else platform.ledger.verifiers
        )
        result = audit_ledger(
            session,
            verifiers=verifiers,
            origin=platform.settings.ledger_origin,
            salt=platform.ctx.ledger_salt,
        )
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


@app.command()
def cosign(database: DatabaseOpt = None) -> None:
    """Sign the head if it grew and ask the configured witnesses to cosign the newest checkpoint
    (what a server does every SPARECAP_LEDGER_WITNESS_INTERVAL_SECONDS).

    Exits 0 when the newest checkpoint is final, 1 when the quorum is not (yet) reached.
    """
    with open_platform(database) as platform:
        sign_checkpoint_once(platform)
        client = HttpWitnessClient(timeout=platform.settings.ledger_witness_timeout_seconds)
        try:
            results = cosign_once(platform, client)
        finally:
            client.close()
        with platform.db.read() as session:
            view = cosigned(
                session, checkpoint=latest_checkpoint(session), policy=platform.finality
            )
    for result in results:
        typer.echo(f"{result.witness}: {result.outcome} {result.detail}".rstrip())
    state = "final" if view.final else "not final"
    typer.echo(f"checkpoint {view.size}: {state} ({len(view.cosignatures)}/{view.quorum})")
    if not view.final:
        raise typer.Exit(1)


@app.command("rotate-key")
def rotate_key() -> None:
    """Retire the checkpoint key and sign with a new one; the old public key stays trusted.

    Stop the server first: it holds the key in memory (docs/ledger-keys.md). Witnesses and
    auditors must add the new verifier key printed here.
    """
    settings = Settings()
    try:
        keys = rotate_keys(
            settings.ledger_key_path, settings.ledger_origin, now=SystemClock().now()
        )
    except (KeyFileError, OSError) as exc:
        typer.echo(f"FAILED: {exc}", err=True)
        raise typer.Exit(1) from None
    retired = keys.retired[-1]
    typer.echo(f"retired:        {retired.verifier.vkey} at {retired.retired_at.isoformat()}")
    typer.echo(f"new signer key: {keys.verifier.vkey}")


def _audit_summary(result: LedgerAudit) -> str:
    if result.divergence is not None:
        seq = result.divergence.seq
        where = f"at entry {seq}" if seq is not None else "outside any entry"
        return f"DIVERGED {where}: {result.divergence.what}"
    agree = (
        f"OK: {result.entries} entries, {result.bookings} bookings and {result.accounts} account"
        " balances agree"
    )
    checkpoint = result.checkpoint
    if checkpoint is None:
        return f"{agree}; root {result.root.hex()}; no checkpoint signed yet"
    unsigned = result.entries - checkpoint.size
    later = f"; {unsigned} later entries not yet checkpointed" if unsigned else ""
    return f"{agree}; root {checkpoint.root_hash.hex()} matches checkpoint {checkpoint.size}{later}"
