"""A real second `sparecap` server acting as a C2SP tlog-witness for the logs under test."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sparecap.bootstrap.witnesses import WitnessEndpoint
from sparecap.services.witness import load_or_create_cosigner
from tests.support.server import ServerProcess

WITNESS_ORIGIN = "witness.test/ledger"
_logs = itertools.count()


@dataclass(frozen=True)
class WitnessProcess:
    """The witness's endpoint and key, and the trusted-logs file it re-reads per request."""

    url: str
    vkey: str
    name: str
    logs: Path

    def endpoint(self) -> WitnessEndpoint:
        return WitnessEndpoint(name=self.name, vkey=self.vkey, url=self.url)

    def trust(self, origin: str, vkey: str) -> None:
        with self.logs.open("a", encoding="utf-8") as out:
            out.write(f"{origin} {vkey}\n")


def fresh_origin() -> str:
    """A log name the witness has never seen, so each test starts from an empty witness state."""
    return f"log{next(_logs)}.test/ledger"


@contextmanager
def witness_process(home: Path) -> Iterator[WitnessProcess]:
    """`sparecap serve` with the witness enabled; its key is made here so the test knows it."""
    key_path = home / "keys" / "ledger.key"
    name = f"{WITNESS_ORIGIN}/witness"
    cosigner = load_or_create_cosigner(key_path.with_name("witness.key"), name)
    logs = home / "witnessed-logs"
    logs.write_text("# origin vkey\n", encoding="utf-8")
    env = {
        "SPARECAP_LEDGER_KEY_PATH": str(key_path),
        "SPARECAP_LEDGER_ORIGIN": WITNESS_ORIGIN,
        "SPARECAP_WITNESS_LOGS": str(logs),
        "SPARECAP_WITNESS_STATE": str(home / "witness-state"),
        "SPARECAP_SCHEDULER_ENABLED": "false",
    }
    with ServerProcess.serve(f"sqlite:///{home / 'witness.sqlite3'}", env=env) as server:
        url = f"{server.base_url}/tlog/add-checkpoint"
        yield WitnessProcess(url, cosigner.verifier().vkey, name, logs)
