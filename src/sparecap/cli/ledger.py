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
from sparecap.cli.text import name, say
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
        typer.echo(f"FAILED: {say('cannot_read', file=bundle, reason=exc)}", err=True)
        raise typer.Exit(1) from None
    except LedgerError as exc:  # a BundleError, or a malformed --witness key
        typer.echo(f"FAILED: {say('not_verified', reason=exc)}", err=True)
        raise typer.Exit(1) from None
    _print_verified(verified, pinned=vkey is not None, quorum=needed)


def _print_verified(verified: VerifiedBundle, *, pinned: bool, quorum: int) -> None:
    cp = verified.checkpoint
    typer.echo(
        f"OK: {say('verified', count=len(verified.entries), origin=cp.origin, size=cp.size)}"
    )
    if not pinned:
        typer.echo(say("unpinned"))
    if quorum:
        names = ", ".join(verified.cosigned_by)
        typer.echo(f"final: {say('cosigned_by', names=names, quorum=quorum)}")
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
        typer.echo(say("expected", value=result.divergence.expected))
        typer.echo(say("found", value=result.divergence.found))
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
        outcome = name(result.outcome)
        typer.echo(say("witness_outcome", witness=result.witness, outcome=outcome,
                       detail=result.detail).rstrip())  # fmt: skip
    state = name("final" if view.final else "not final")
    count = len(view.cosignatures)
    typer.echo(say("finality", size=view.size, state=state, count=count, quorum=view.quorum))
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
        typer.echo(f"FAILED: {say('not_rotated', reason=exc)}", err=True)
        raise typer.Exit(1) from None
    retired = keys.retired[-1]
    typer.echo(say("retired_key", vkey=retired.verifier.vkey, at=retired.retired_at.isoformat()))
    typer.echo(say("new_key", vkey=keys.verifier.vkey))


def _audit_summary(result: LedgerAudit) -> str:
    """`OK: ...` or `DIVERGED at entry N: ...`: the lead stays English in every locale, for
    scripts; the divergence's own description is the audit's (English) text."""
    if result.divergence is not None:
        seq = result.divergence.seq
        where = f"at entry {seq}" if seq is not None else "outside any entry"
        return f"DIVERGED {where}: {result.divergence.what}"
    agree = say(
        "audit_agree", entries=result.entries, bookings=result.bookings, accounts=result.accounts
    )
    checkpoint = result.checkpoint
    if checkpoint is None:
        return f"OK: {say('audit_unsigned', agree=agree, root=result.root.hex())}"
    unsigned = result.entries - checkpoint.size
    later = say("audit_later", count=unsigned) if unsigned else ""
    summary = say("audit_signed", agree=agree, root=checkpoint.root_hash.hex(),
                  size=checkpoint.size, later=later)  # fmt: skip
    return f"OK: {summary}"
