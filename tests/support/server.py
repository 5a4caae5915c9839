"""Real `sparecap` server processes for end-to-end tests and benchmarks, and the market in them."""

from __future__ import annotations

import os
import re
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from types import TracebackType
from typing import IO, Any
from zoneinfo import ZoneInfo

import httpx

from sparecap.bootstrap import Settings, build_platform
from tests.support.pgserver import free_port

# The console script sits beside the interpreter; `python -m sparecap.cli.main` would import the
# module without running it (no __main__ guard).
SPARECAP = Path(sys.executable).with_name("sparecap")
START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0
# Loading the CA bundle costs ~90 ms per httpx.Client; dozens of racing clients share one context
# so that building them does not stretch the race (the servers here speak plain HTTP anyway).
_TLS = ssl.create_default_context()
_KEY = re.compile(r"\bsk_[A-Za-z0-9_\-]+")
_OPERATOR_ID = re.compile(r"operator (\d+) created")


def http_client(base_url: str, *, timeout: float = 120.0) -> httpx.Client:
    """A client with its own connection pool, cheap to build."""
    return httpx.Client(base_url=base_url, timeout=timeout, verify=_TLS)


class ServerError(RuntimeError):
    """The server did not come up; the message carries what it wrote to stderr."""


def _child_env(overrides: Mapping[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    # A wide virtual terminal, so rich never wraps a line the helpers parse.
    env["COLUMNS"] = "500"
    env.update(overrides)
    return env


class ServerProcess:
    """One `sparecap` process serving HTTP on a free port, its output kept in a temporary file.

    The output goes to files rather than pipes: nobody reads a pipe while the server runs, and a
    full pipe would block the server mid-request.
    """

    def __init__(self, args: Sequence[str], *, env: Mapping[str, str] | None = None) -> None:
        self.port = free_port()
        self.args = [str(SPARECAP), *args, "--port", str(self.port)]
        self.env = _child_env(env or {})
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._proc: subprocess.Popen[bytes] | None = None
        self._logs: list[IO[bytes]] = []

    @classmethod
    def serve(
        cls, database_url: str, *, env: Mapping[str, str] | None = None, workers: int = 1
    ) -> ServerProcess:
        """`sparecap serve` on `database_url`; env holds SPARECAP_* settings for the server."""
        return cls(["serve", "--database", database_url, "--workers", str(workers)], env=env)

    @property
    def pid(self) -> int:
        assert self._proc is not None, "server not started"
        return self._proc.pid

    def start(self, timeout: float = START_TIMEOUT_SECONDS) -> ServerProcess:
        # The files live as long as the server does, past this call: stop() closes them.
        stdout = tempfile.TemporaryFile(prefix="sparecap-out-")  # noqa: SIM115
        stderr = tempfile.TemporaryFile(prefix="sparecap-err-")  # noqa: SIM115
        self._logs = [stdout, stderr]
        self._proc = subprocess.Popen(self.args, env=self.env, stdout=stdout, stderr=stderr)
        try:
            self._wait_healthy(timeout)
        except BaseException:
            self.kill()
            self._close_logs()
            raise
        return self

    def _wait_healthy(self, timeout: float) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + timeout
        with http_client(self.base_url, timeout=2.0) as client:
            while True:
                if self._proc.poll() is not None:
                    raise ServerError(
                        f"server exited with {self._proc.returncode} before answering /healthz:\n"
                        f"{self.stderr()}"
                    )
                try:
                    if client.get("/healthz").status_code == 200:
                        return
                except httpx.TransportError:
                    pass  # not listening yet
                if time.monotonic() > deadline:
                    raise ServerError(
                        f"server did not answer /healthz within {timeout:.0f} s:\n{self.stderr()}"
                    )
                time.sleep(0.1)

    def _read(self, index: int) -> str:
        if len(self._logs) <= index or self._logs[index].closed:
            return ""
        log = self._logs[index]
        log.flush()
        log.seek(0)
        text = log.read().decode("utf-8", errors="replace")
        log.seek(0, os.SEEK_END)
        return text

    def stdout(self) -> str:
        return self._read(0)

    def stderr(self) -> str:
        return self._read(1)

    def _tree(self) -> list[int]:
        """The server's pid and its descendants' (uvicorn workers are child processes)."""
        children: dict[int, list[int]] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # the process ended while we looked
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        pids, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            pids.append(pid)
            todo.extend(children.get(pid, []))
        return pids

    def rss_kib(self) -> int:
        """Resident memory of the server and its workers (sum of VmRSS), in KiB."""
        total = 0
        for pid in self._tree():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        return total

    def cpu_seconds(self) -> float:
        """User plus system CPU time the server and its live workers have used so far."""
        ticks = 0
        for pid in self._tree():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            # utime and stime are fields 14 and 15 of stat(5); the split starts at field 3.
            ticks += int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        """Graceful stop (SIGTERM lets uvicorn finish requests and the timer thread), then kill."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._close_logs()

    def kill(self) -> None:
        """SIGKILL: the crash a durable timer must survive. Output stays readable afterwards."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGKILL)
            self._proc.wait()

    def _close_logs(self) -> None:
        for log in self._logs:
            log.close()

    def __enter__(self) -> ServerProcess:
        return self.start() if self._proc is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@dataclass(frozen=True)
class Member:
    """A participant and the API key it calls with."""

    id: int
    key: str

    def headers(self, idempotency_key: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.key}"}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        return headers

    def write_headers(self) -> dict[str, str]:
        """Headers for a write that is not a retry: a fresh idempotency key."""
        return self.headers(uuid.uuid4().hex)


@dataclass(frozen=True)
class Market:
    operator: Member
    provider: Member
    demander: Member


def create_operator(database_url: str, name: str = "E2E operator") -> Member:
    """`sparecap operator create` in a subprocess, and the key it prints once."""
    result = subprocess.run(
        [str(SPARECAP), "operator", "create", name, "--database", database_url],
        env=_child_env({}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    key, number = _KEY.search(result.stdout), _OPERATOR_ID.search(result.stdout)
    if result.returncode != 0 or key is None or number is None:
        raise ServerError(
            f"operator create failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return Member(int(number.group(1)), key.group(0))


def prepare_database(database_url: str) -> None:
    """Migrate and seed the built-in categories, in this process.

    Every `sparecap` process does this as it starts, by reading what is there and inserting what
    is missing; done once up front, the CLI and the server can then start side by side.
    """
    build_platform(Settings(database_url=database_url)).close()


def serve_with_operator(
    database_url: str, *, env: Mapping[str, str] | None = None, workers: int = 1
) -> tuple[ServerProcess, Member]:
    """A started server and an operator made by the CLI, the two launched together.

    Each process spends seconds importing; side by side they use both cores of a small machine.
    """
    prepare_database(database_url)
    server = ServerProcess.serve(database_url, env=env, workers=workers)
    # Leaving the pool waits for the CLI even if the server failed: no subprocess outlives this.
    with ThreadPoolExecutor(max_workers=1) as pool:
        operator = pool.submit(create_operator, database_url)
        server.start()
    try:
        return server, operator.result()
    except BaseException:
        server.stop()
        raise


def expect(response: httpx.Response, status: int) -> Any:
    """The JSON body, after checking the status; the body is in the message when it differs."""
    if response.status_code != status:
        raise AssertionError(
            f"{response.request.method} {response.request.url} -> {response.status_code}, "
            f"expected {status}: {response.text}"
        )
    return response.json()


def create_member(
    client: httpx.Client, operator: Member, *, name: str, roles: Sequence[str]
) -> Member:
    """A participant created by the operator through the API, with its own fresh key."""
    body = {"name": name, "kind": "organisation", "roles": list(roles), "verification_level": 2}
    participant = expect(
        client.post("/v1/participants", json=body, headers=operator.write_headers()), 201
    )
    issued = expect(
        client.post(
            f"/v1/participants/{participant['id']}/api-keys",
            json={"label": "e2e"},
            headers=operator.write_headers(),
        ),
        201,
    )
    return Member(participant["id"], issued["api_key"])


def create_market(client: httpx.Client, operator: Member) -> Market:
    """A provider and a demander beside the operator."""
    provider = create_member(client, operator, name="E2E provider", roles=["provider"])
    demander = create_member(client, operator, name="E2E demander", roles=["demander"])
    return Market(operator, provider, demander)


# Shenzhen, as in the demo market; China keeps no daylight saving, so local slots map one to one.
ZONE = "Asia/Shanghai"
ALL_DAY_EVERY_DAY = [{"weekday": d, "start_minute": 0, "end_minute": 1440} for d in range(7)]


def charger_spec(units: int, *, name: str = "E2E chargers") -> dict[str, Any]:
    """An instant-book EV charger with `units` exclusive connectors, open 24/7 on 15-min slots."""
    return {
        "category": "ev_charger",
        "name": name,
        "lat": 22.5405,
        "lon": 113.9530,
        "timezone": ZONE,
        "currency": "CNY",
        "price_minor": 4500,
        "price_unit": "hour",
        "instant_book": True,
        "capacity_mode": "exclusive",
        "units": [{"name": f"dc-{i + 1}"} for i in range(units)],
        "attributes": {"kw": 120, "connector": "gbt_dc"},
        "rules": {"slot_minutes": 15, "min_duration_minutes": 15},
        "windows": ALL_DAY_EVERY_DAY,
    }


def parking_spec(bays: int) -> dict[str, Any]:
    """An instant-book car park whose `bays` identical bays form one pooled unit, open 24/7."""
    return {
        "category": "parking_bay",
        "name": "E2E car park",
        "lat": 22.5410,
        "lon": 114.0560,
        "timezone": ZONE,
        "currency": "CNY",
        "price_minor": 800,
        "price_unit": "hour",
        "instant_book": True,
        "capacity_mode": "pooled",
        "units": [{"name": "level-b2", "capacity": bays, "capacity_unit": "bays"}],
        "attributes": {"covered": True, "vehicle": "car"},
        "rules": {"slot_minutes": 15, "min_duration_minutes": 15},
        "windows": ALL_DAY_EVERY_DAY,
    }


def next_local(weekday: int, hour: int, *, zone: str = ZONE, min_days_ahead: int = 2) -> datetime:
    """`hour`:00 local on the next `weekday` (0 Monday) at least `min_days_ahead` days away.

    Far enough ahead that no notice rule or timer of the booking fires during a test, and well
    inside the default 90-day booking window.
    """
    tz = ZoneInfo(zone)
    day = datetime.now(tz).date() + timedelta(days=min_days_ahead)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return datetime.combine(day, dt_time(hour), tz)
