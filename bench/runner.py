"""One benchmark run: every selected scenario on our server and on the Node reference.

Each scenario gets fresh servers: ours on a copy of a database migrated with
``sourcevault db upgrade`` at the start of the run (or, for PostgreSQL, a database created for
it and dropped after), with the scenario's users written in before it starts; the reference
seeded through its ``/bench/seed`` route. Results go to ``OUT/bench-STAMP.json`` and the latency
distributions to ``OUT/bench-STAMP.png``; the servers' and generators' logs to ``OUT/logs/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from bench import multi, report
from bench.procs import (
    NODE_MODULES,
    SERVE_MODULE,
    BenchError,
    Loadgen,
    Pins,
    Server,
    compile_ours,
    free_port,
    loadgen,
    node,
    our_env,
    our_server,
    raise_nofile,
    reference_server,
)
from bench.scenarios import FULL, QUICK, SCENARIOS, Run, Scenario, Sizes
from bench.world import World, seed_database

DEFAULT_PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PYTHON_PACKAGES = [
    "python-socketio",
    "python-engineio",
    "uvicorn",
    "uvloop",
    "websockets",
    "fastapi",
    "starlette",
    "sqlalchemy",
    "aiosqlite",
    "asyncpg",
    "orjson",
]
NODE_PACKAGES = [
    "socket.io",
    "socket.io-client",
    "engine.io",
    "ws",
    "@socket.io/redis-adapter",
    "redis",
]


@dataclass(frozen=True)
class Options:
    quick: bool = False
    only: tuple[str, ...] = ()
    out: Path = Path("bench-results")
    pin: bool = True
    # Where to create (and drop) B7's PostgreSQL database; None skips PostgreSQL.
    pg_admin: str | None = DEFAULT_PG_ADMIN
    # B8's Redis (ours and the reference each on a channel of the run's own); None skips B8.
    redis_url: str | None = multi.DEFAULT_REDIS


def selected(only: tuple[str, ...]) -> list[Scenario]:
    wanted = {key.strip().upper() for key in only if key.strip()}
    unknown = wanted - {s.key for s in SCENARIOS}
    if unknown:
        raise BenchError(f"no such scenario: {', '.join(sorted(unknown))}")
    return [s for s in SCENARIOS if not wanted or s.key in wanted]


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    models = [
        line.split(":", 1)[1].strip()
        for line in cpuinfo.splitlines()
        if line.startswith("model name")
    ]
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    mem_kb = next(
        (int(line.split()[1]) for line in meminfo.splitlines() if line.startswith("MemTotal")), 0
    )
    try:
        node_version = subprocess.run(  # noqa: S603
            [node(), "--version"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        node_version = None
    python_packages = {}
    for name in PYTHON_PACKAGES:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            python_packages[name] = importlib.metadata.version(name)
    node_packages = {}
    for name in NODE_PACKAGES:
        manifest = NODE_MODULES / name / "package.json"
        if manifest.exists():
            node_packages[name] = json.loads(manifest.read_text())["version"]
    return {
        "load_average": os.getloadavg(),
        "nproc": os.cpu_count(),
        "cpu": models[0] if models else platform.processor(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "node": node_version,
        "python_packages": python_packages,
        "node_packages": node_packages,
    }


class Bench:
    def __init__(
        self, options: Options, pins: Pins, workdir: Path, logs: Path, status: Any
    ) -> None:
        self.options = options
        self.sizes: Sizes = QUICK if options.quick else FULL
        self.pins = pins
        self.workdir = workdir
        self.logs = logs
        self.status = status
        self.template = workdir / "template.db"

    async def migrate(self, database_url: str) -> None:
        env = our_env(database_url)
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            SERVE_MODULE,
            "db",
            "upgrade",
            env=env,
            cwd=self.workdir,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await proc.communicate()
        if proc.returncode:
            raise BenchError(f"sourcevault db upgrade failed: {output.decode(errors='replace')}")

    @contextlib.asynccontextmanager
    async def _database(self, name: str, database: str) -> AsyncIterator[str]:
        if database == "sqlite":
            path = self.workdir / f"{name}.db"
            shutil.copy(self.template, path)
            yield f"sqlite+aiosqlite:///{path}"
            return
        if self.options.pg_admin is None:
            raise BenchError("PostgreSQL is off for this run")
        import asyncpg  # type: ignore[import-untyped]

        admin = self.options.pg_admin
        db_name = f"sourcevault_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'CREATE DATABASE "{db_name}"')
        finally:
            await conn.close()
        base = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
        try:
            url = f"{base}/{db_name}"
            await self.migrate(url)
            yield url
        finally:
            conn = await asyncpg.connect(admin)
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
            finally:
                await conn.close()

    @contextlib.asynccontextmanager
    async def serving(
        self, key: str, side: str, database: str, world: World
    ) -> AsyncIterator[Server]:
        port = free_port()
        tag = f"{key}-{side}-{database}".lower()
        if side == "ours":
            async with self._database(tag, database) as url:
                self.status("writing users and vaults")
                await seed_database(url, world)
                server = our_server(
                    port, url, self.pins.server, self.workdir, self.logs / f"{tag}.log"
                )
                self.status("starting")
                await server.start()
                try:
                    yield server
                finally:
                    await server.stop()
            return
        state = self.workdir / f"{tag}.json"
        server = reference_server(port, self.pins.server, state, self.logs / f"{tag}.log")
        await server.start()
        try:
            async with httpx.AsyncClient(timeout=120) as http:
                response = await http.post(f"{server.url}/bench/seed", json=world.reference_seed())
                response.raise_for_status()
            yield server
        finally:
            await server.stop()

    def loadgen_factory(self, tag: str) -> Any:
        def make(name: str) -> contextlib.AbstractAsyncContextManager[Loadgen]:
            return loadgen(self.pins.clients, self.logs / f"{tag}-{name}.loadgen.log")

        return make

    async def one(
        self, scenario: Scenario, side: str, database: str, world: World
    ) -> dict[str, Any]:
        tag = f"{scenario.key}-{side}-{database}".lower()
        try:
            if scenario.instances > 1:
                async with multi.serving(self, scenario.key, side, world) as servers:
                    run = Run(
                        side,
                        servers[0],
                        world,
                        self.sizes,
                        self.loadgen_factory(tag),
                        self.status,
                        servers=tuple(servers),
                    )
                    return await scenario.run(run)
            async with self.serving(scenario.key, side, database, world) as server:
                run = Run(side, server, world, self.sizes, self.loadgen_factory(tag), self.status)
                return await scenario.run(run)
        except Exception as exc:  # one failed scenario must not cost the others
            return {"error": f"{type(exc).__name__}: {exc}", "complete": False}


def _sides(scenario: Scenario, options: Options) -> list[tuple[str, str]]:
    if scenario.instances > 1 and (options.redis_url is None or options.pg_admin is None):
        return []  # several instances need Redis, and ours PostgreSQL: left out, as B7's half
    ours = [d for d in scenario.databases if d != "postgres" or options.pg_admin is not None]
    reference = [("reference", "memory")] if scenario.reference else []
    return [("ours", d) for d in ours] + reference


async def run(options: Options, console: Console) -> dict[str, Any]:
    scenarios = selected(options.only)
    raise_nofile()
    compile_ours()
    pins = Pins.plan(options.pin)  # before pinning this process, which narrows what it sees
    pins.pin_self()  # this process and the generators it starts share the client cores
    options.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    logs = options.out / "logs" / stamp
    logs.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    machine_before = machine()  # its load average says whether anything else was running
    results: dict[str, Any] = {}
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with (
        tempfile.TemporaryDirectory(prefix="sourcevault-bench-") as tmp,
        Progress(*columns, console=console, transient=False) as progress,
    ):
        total = sum(len(_sides(s, options)) for s in scenarios)
        task = progress.add_task("migrating a database", total=total)
        label = ["setup"]

        def status(text: str) -> None:
            progress.update(task, description=f"{label[0]}: {text}")

        bench = Bench(options, pins, Path(tmp), logs, status)
        await bench.migrate(f"sqlite+aiosqlite:///{bench.template}")
        for scenario in scenarios:
            if not _sides(scenario, options):
                continue
            world = scenario.world(bench.sizes)
            results[scenario.key] = {}
            for side, database in _sides(scenario, options):
                label[0] = f"{scenario.key} {side}" + (
                    f" ({database})" if side == "ours" and len(scenario.databases) > 1 else ""
                )
                status("starting")
                outcome = await bench.one(scenario, side, database, world)
                into = results[scenario.key]
                if side == "ours" and len(scenario.databases) > 1:
                    into.setdefault("ours", {})[database] = outcome
                elif side == "reference" and len(scenario.databases) > 1:
                    into["reference"] = {"memory": outcome}
                else:
                    into[side] = outcome
                progress.advance(task)
            for outcome in results[scenario.key].values():
                if len(scenario.databases) > 1:
                    outcome["complete"] = all(
                        v.get("complete") for v in outcome.values() if isinstance(v, dict)
                    )
        status("done")
    return {
        "command": " ".join(["python -m bench", *sys.argv[1:]]),
        "quick": options.quick,
        "started": stamp,
        "seconds": time.monotonic() - started,
        "machine": machine_before | {"load_average_after": os.getloadavg()},
        "pinning": {"server": sorted(pins.server), "clients": sorted(pins.clients)},
        "sizes": asdict(bench.sizes),
        "results": results,
        "logs": str(logs),
    }


def errors(document: dict[str, Any]) -> list[str]:
    """Every scenario side that failed, as 'B3 ours: ...'."""
    found = []
    for key, sides in document["results"].items():
        for side, outcome in sides.items():
            items = [("", outcome)] + [
                (f" ({k})", v) for k, v in outcome.items() if isinstance(v, dict)
            ]
            found += [
                f"{key} {side}{where}: {item['error']}" for where, item in items if "error" in item
            ]
    return found


def main(options: Options) -> int:
    """Run, print the table, write the JSON and the PNG; 1 when a scenario failed."""
    console = Console(stderr=True)
    document = asyncio.run(run(options, console))
    table_rows = report.rows(document["results"])
    out = Console() if sys.stdout.isatty() else Console(width=150)
    report.render(table_rows, out)
    stem = options.out / f"bench-{document['started']}"
    report.write_json(stem.with_suffix(".json"), document, table_rows)
    stem.with_suffix(".md").write_text(
        report.markdown(table_rows) + "\n" + report.machine_markdown(document)
    )
    not_drawn = report.draw(stem.with_suffix(".png"), document["results"])
    console.print(f"results: {stem.with_suffix('.json')} (table: {stem.with_suffix('.md')})")
    console.print(
        f"latency distributions: {stem.with_suffix('.png')}"
        if not_drawn is None
        else f"no PNG: {not_drawn}"
    )
    failed = errors(document)
    for line in failed:
        console.print(f"[red]{line}[/]")
    return 1 if failed else 0
