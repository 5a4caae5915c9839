"""Composition root: settings become a database, a clock and the timer policy services use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from sparecap.bootstrap.witnesses import WitnessEndpoint, finality_policy
from sparecap.db.engine import Database
from sparecap.db.migrate import upgrade
from sparecap.domain.bookings import TimerPolicy
from sparecap.domain.clock import Clock, SystemClock
from sparecap.domain.policies import Policy
from sparecap.domain.quotes import Fee, FeeSchedule, Tax
from sparecap.gateways.ledger_keys import LedgerKeys, load_or_create_keys
from sparecap.gateways.payments import SandboxProvider
from sparecap.services.categories import ensure_builtin_categories
from sparecap.services.context import ServiceContext
from sparecap.services.ledger_finality import FinalityPolicy


class Settings(BaseSettings):
    """Every setting, read from SPARECAP_* environment variables (docs/settings.md)."""

    model_config = SettingsConfigDict(env_prefix="SPARECAP_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///var/sparecap.sqlite3",
        description="SQLAlchemy URL; sqlite:///path or postgresql+psycopg://user@host/db",
    )
    sqlite_synchronous: str = Field(
        default="FULL",
        pattern="^(OFF|NORMAL|FULL|EXTRA)$",
        description="SQLite durability: FULL survives power loss; NORMAL only process crashes",
    )
    hold_ttl_seconds: int = Field(default=600, ge=1, description="checkout hold lifetime")
    accept_within_seconds: int = Field(default=86400, ge=1, description="provider reply deadline")
    no_show_grace_seconds: int = Field(default=1800, ge=0, description="wait after start")
    auto_complete_seconds: int = Field(default=3600, ge=0, description="complete after end")
    scheduler_interval_seconds: float = Field(default=1.0, gt=0, description="timer poll period")
    scheduler_enabled: bool = Field(default=True, description="run timers inside the server")
    ledger_key_path: Path = Field(
        default=Path("var/ledger.key"), description="checkpoint key and pseudonym salt (0600)"
    )
    ledger_origin: str = Field(
        default="sparecap.local/ledger",
        pattern=r"^[^\s+]+$",
        description="the log's name in its checkpoints",
    )
    checkpoint_interval_seconds: float = Field(default=1.0, gt=0, description="signing period")
    ledger_witnesses: list[WitnessEndpoint] = Field(
        default=[], description="witnesses asked to cosign our checkpoints (JSON list)"
    )
    ledger_witness_quorum: int = Field(default=0, ge=0, description="cosignatures for finality")
    ledger_witness_interval_seconds: float = Field(default=1.0, gt=0, description="ask period")
    ledger_witness_timeout_seconds: float = Field(default=5.0, gt=0, description="per request")
    witness_logs: Path | None = Field(
        default=None, description="as a witness: file of '<origin> <vkey>' lines it cosigns"
    )
    witness_state: Path = Field(
        default=Path("var/witness"), description="as a witness: per-log cosigned-state files"
    )
    witness_name: str | None = Field(
        default=None, pattern=r"^[^\s+]+$", description="witness key name; '<origin>/witness'"
    )
    commission_bp: int = Field(default=0, ge=0, le=10_000, description="from providers, 1/100 %")
    commission_fixed_minor: int = Field(default=0, ge=0, description="per booking, from providers")
    commission_min_minor: int = Field(default=0, ge=0, description="least commission per booking")
    service_fee_bp: int = Field(default=0, ge=0, le=10_000, description="from demanders, 1/100 %")
    service_fee_fixed_minor: int = Field(default=0, ge=0, description="per booking, from demanders")
    tax_bp: int = Field(default=0, ge=0, le=10_000, description="tax withheld on prices, 1/100 %")
    tax_inclusive: bool = Field(default=True, description="prices already contain the tax")
    dispute_days: int = Field(default=3, ge=0, le=90, description="days to dispute a completion")
    sandbox_secret: str = Field(
        default="sparecap-sandbox", min_length=8, description="signs sandbox payment callbacks"
    )
    settle_interval_seconds: float = Field(default=60.0, gt=0, description="escrow release period")
    round_interval_seconds: float = Field(
        default=300.0, ge=0, description="batch matching round period; 0: rounds only on command"
    )

    def fee_schedule(self) -> FeeSchedule:
        return FeeSchedule(
            provider_commission=Fee(
                self.commission_bp, self.commission_fixed_minor, self.commission_min_minor
            ),
            demander_fee=Fee(self.service_fee_bp, self.service_fee_fixed_minor),
            tax=Tax(self.tax_bp, self.tax_inclusive),
        )

    def timer_policy(self) -> TimerPolicy:
        return TimerPolicy(
            hold_ttl=timedelta(seconds=self.hold_ttl_seconds),
            accept_within=timedelta(seconds=self.accept_within_seconds),
            no_show_grace=timedelta(seconds=self.no_show_grace_seconds),
            auto_complete_after=timedelta(seconds=self.auto_complete_seconds),
        )


@dataclass
class Platform:
    """What the interfaces need: the database and the context every use case runs in."""

    settings: Settings
    db: Database
    ctx: ServiceContext
    ledger: LedgerKeys

    @cached_property
    def finality(self) -> FinalityPolicy:
        """The witnesses whose cosignatures make our checkpoints final (parsed once)."""
        return finality_policy(self.settings.ledger_witnesses, self.settings.ledger_witness_quorum)

    def close(self) -> None:
        self.db.dispose()


def build_platform(settings: Settings | None = None, *, clock: Clock | None = None) -> Platform:
    """Open (and migrate) the configured database and wire the services' context."""
    settings = settings or Settings()
    _ensure_sqlite_folder(settings.database_url)
    upgrade(settings.database_url)
    ledger = load_or_create_keys(settings.ledger_key_path, settings.ledger_origin)
    db = Database(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
    ctx = ServiceContext(
        clock=clock or SystemClock(),
        timers=settings.timer_policy(),
        ledger_salt=ledger.salt,
        fees=settings.fee_schedule(),
        default_policy=Policy(dispute_days=settings.dispute_days),
        payments={"sandbox": SandboxProvider(settings.sandbox_secret.encode())},
    )
    with db.write() as session:
        ensure_builtin_categories(session)
    return Platform(settings=settings, db=db, ctx=ctx, ledger=ledger)


def _ensure_sqlite_folder(url: str) -> None:
    prefix = "sqlite:///"
    if url.startswith(prefix) and url != "sqlite:///:memory:":
        Path(url.removeprefix(prefix)).parent.mkdir(parents=True, exist_ok=True)
