"""``python -m bench`` (what ``make bench`` runs, from the repository root): every scenario, or
those named, on our server and on the Node reference; the table, the JSON and the picture."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bench import multi, runner
from bench.procs import BenchError, check_node


def bench(
    quick: Annotated[bool, typer.Option(help="Tiny sizes: a smoke run of every scenario.")] = False,
    only: Annotated[str, typer.Option(help="Scenarios to run, e.g. B1,B3 (default: all).")] = "",
    out: Annotated[str, typer.Option(help="Folder for the JSON, the PNG and the logs.")] = (
        "bench-results"
    ),
    pg: Annotated[
        str, typer.Option(help="PostgreSQL admin URL for B7's PostgreSQL half ('' skips it).")
    ] = runner.DEFAULT_PG_ADMIN,
    redis: Annotated[
        str, typer.Option(help="Redis URL for B8's several instances ('' skips B8).")
    ] = multi.DEFAULT_REDIS,
) -> None:
    """Benchmark our server beside the stock Node Socket.IO server (needs Node and npm ci)."""
    problem = check_node()
    if problem:
        typer.secho(problem, fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1)
    options = runner.Options(
        quick=quick,
        only=tuple(only.split(",")) if only else (),
        out=Path(out),
        pg_admin=pg or None,
        redis_url=redis or None,
    )
    try:
        code = runner.main(options)
    except BenchError as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from None
    raise typer.Exit(code)


if __name__ == "__main__":
    app = typer.Typer(add_completion=False, pretty_exceptions_show_locals=False)
    app.command()(bench)
    app(prog_name="python -m bench")
