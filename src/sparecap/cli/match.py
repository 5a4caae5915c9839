"""The `sparecap match` commands: run the matching engine on OR-Library benchmark files."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from sparecap.cli.text import say
from sparecap.domain.matching.assignment import solve_square_assignment
from sparecap.domain.matching.core import IntArray, MatchingInputError, Sense, SolveStatus
from sparecap.domain.matching.gap import GapInstance, solve_gap
from sparecap.domain.matching.orlib import OrlibFormatError, parse_assignment, parse_gap

app = typer.Typer(
    help="Matching engine: solve OR-Library assign* and gap* files.", no_args_is_help=True
)

# Click's own exit code for bad usage; a bad file is bad input too, so it shares the code.
USAGE_ERROR = 2


@dataclass(frozen=True, slots=True)
class _Outcome:
    label: str
    objective: int | None
    bound: int | None
    status: SolveStatus
    seconds: float


@app.callback()
def _group() -> None:
    """Matching engine: solve OR-Library assign* and gap* files."""


@app.command()
def solve(
    file: Annotated[Path, typer.Argument(help="An OR-Library assign* or gap* file.")],
    sense: Annotated[Sense, typer.Option(help="Minimise or maximise the total cost.")] = Sense.MIN,
    time_limit: Annotated[
        float, typer.Option("--time-limit", help="Seconds per gap problem.")
    ] = 10.0,
    index: Annotated[
        int | None, typer.Option(help="Solve only the problem at this 0-based position.")
    ] = None,
) -> None:
    """Solve every problem in FILE (or the one at --index) and print objective, bound, status."""
    if not (math.isfinite(time_limit) and time_limit > 0):  # nan and inf pass "<= 0"
        _fail(say("time_limit"))
    text = _read(file)
    try:
        # Problems print as they finish: a gap file can hold six problems of several seconds.
        for outcome in _solve_text(file.name, text, sense, time_limit, index):
            typer.echo(f"problem: {outcome.label}")
            typer.echo(f"objective: {_show(outcome.objective)}")
            typer.echo(f"bound: {_show(outcome.bound)}")
            typer.echo(f"status: {outcome.status.value}")
            typer.echo(f"time: {outcome.seconds:.3f}s")
    except (OrlibFormatError, MatchingInputError) as exc:
        _fail(say("cannot_solve", file=file, reason=exc))


def _read(file: Path) -> str:
    try:
        return file.read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        _fail(say("no_file", file=file))
    except OSError as exc:
        _fail(say("cannot_read", file=file, reason=exc.strerror or exc))


def _solve_text(
    name: str, text: str, sense: Sense, time_limit: float, index: int | None
) -> Iterator[_Outcome]:
    """Pick the reader by file name (assign*, gap*), else by which format the text parses as."""
    lowered = name.lower()
    if lowered.startswith("assign"):
        yield from _solve_assignment(name, parse_assignment(text), sense, index)
    elif lowered.startswith("gap"):
        yield from _solve_gaps(name, parse_gap(text), sense, time_limit, index)
    else:
        yield from _sniff(name, text, sense, time_limit, index)


def _sniff(
    name: str, text: str, sense: Sense, time_limit: float, index: int | None
) -> Iterator[_Outcome]:
    """A file named neither assign* nor gap*: an assign file's token count is exactly 1 + n*n."""
    try:
        matrix = parse_assignment(text)
    except OrlibFormatError:
        try:
            problems = parse_gap(text)
        except OrlibFormatError as exc:
            raise OrlibFormatError(f"neither an assign nor a gap file ({exc})") from None
        yield from _solve_gaps(name, problems, sense, time_limit, index)
    else:
        yield from _solve_assignment(name, matrix, sense, index)


def _solve_assignment(
    name: str, matrix: IntArray, sense: Sense, index: int | None
) -> Iterator[_Outcome]:
    if index not in (None, 0):
        _fail(say("index_one", index=index, name=name))
    result = solve_square_assignment(matrix, sense=sense)
    n = matrix.shape[0]
    label = f"{name} {n}x{n} {sense.value}"
    yield _Outcome(label, result.objective, result.bound, result.status, result.wall_seconds)


def _solve_gaps(
    name: str, problems: list[GapInstance], sense: Sense, time_limit: float, index: int | None
) -> Iterator[_Outcome]:
    if index is not None and not 0 <= index < len(problems):
        _fail(say("index_many", index=index, name=name, count=len(problems)))
    chosen = range(len(problems)) if index is None else [index]
    for k in chosen:
        problem = problems[k]
        result = solve_gap(problem, sense=sense, time_limit=time_limit)
        label = f"{name}[{k}] {problem.agents}x{problem.jobs} {sense.value}"
        yield _Outcome(label, result.objective, result.bound, result.status, result.wall_seconds)


def _show(value: int | None) -> str:
    return "none" if value is None else str(value)


def _fail(message: str) -> NoReturn:
    """Print one line to stderr and stop with the usage-error code, never a traceback."""
    typer.echo(say("error", message=" ".join(message.split())), err=True)
    raise typer.Exit(USAGE_ERROR)
