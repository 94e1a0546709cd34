"""The ``sourcevault`` command: serve, db upgrade, user create (and more as they land)."""

from __future__ import annotations

import asyncio
import gc
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from fastapi import FastAPI

    from sourcevault.auth.schemas import RegisterIn, UserOut
    from sourcevault.config import Settings

# Connections the kernel holds for ``serve`` until it accepts them (uvicorn's default).
BACKLOG = 2048

app = typer.Typer(
    help="sourcevault: shared vaults of research sources, live.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
user_app = typer.Typer(help="User accounts.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")


def _fail(message: str) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(code=1)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the database migrations (creates the SQLite file if needed)."""
    from sourcevault.config import get_settings
    from sourcevault.db.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database_url, revision)
    typer.echo(f"database is at {revision}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    demo: Annotated[bool, typer.Option(help="Create demo users when there are none.")] = False,
) -> None:
    """Serve REST, Socket.IO and the test page on one port."""
    sock = _listen(host, port)  # first: see _listen
    gc.disable()  # until the app is built: see _tune_gc
    import uvicorn

    from sourcevault.config import get_settings
    from sourcevault.db.migrate import is_migrated

    settings = get_settings()
    with _unimportable(*_unused_by_server(settings)):
        import socketio  # noqa: F401  # see _unused_by_server
    try:
        migrated = is_migrated(settings.database_url)
    except Exception as exc:
        _fail(f"cannot reach the database ({type(exc).__name__}: {exc})")
    if not migrated:
        _fail("The database is not migrated to the latest schema. Run: sourcevault db upgrade")
    if demo:
        asyncio.run(_seed_demo(settings, host, port))
    from sourcevault import logs

    logs.configure()  # before create_app: python-socketio sets up its loggers when built
    app = _with_demo(build_app(settings), demo)
    _tune_gc()
    from sourcevault.realtime import transport

    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        backlog=BACKLOG,
        loop="uvloop" if sys.platform != "win32" else "asyncio",
        timeout_graceful_shutdown=10,
        log_level="info",
        log_config=None,  # records go to the handler logs.configure() set up
        **transport.uvicorn_options(settings),
    )
    transport.server_class(settings)(config).run(sockets=[sock])


def build_app(settings: Settings) -> FastAPI:
    """The app ``serve`` runs (the benchmark harness, outside the package, adds a route to it)."""
    from sourcevault.app import create_app

    return create_app(settings)


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, made before anything else is imported or checked.

    Starting takes a while (imports, the migration check, the app). A client that
    connects meanwhile, as every client does when it comes back after a restart, would be
    refused and back off (socket.io-client's default backoff doubles from 1 s); with the
    socket already listening, the kernel completes its connection and holds it, up to
    ``BACKLOG`` of them, until the server accepts it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        _fail(f"cannot listen on {host}:{port} ({exc.strerror or exc})")
    sock.listen(BACKLOG)
    return sock


def _unused_by_server(settings: Settings) -> tuple[str, ...]:
    """What importing python-socketio would load that this server never runs: aiohttp,
    requests and websocket-client for its clients, and redis-py for its Redis managers when no
    Redis is configured: time added to every start, which clients coming back after a restart
    wait out. python-socketio and python-engineio import them only if they can, and make do
    without."""
    clients = ("aiohttp", "requests", "websocket")
    return clients if settings.redis_url is not None else (*clients, "redis", "valkey")


@contextmanager
def _unimportable(*names: str) -> Iterator[None]:
    """Inside, ``import`` of each of ``names`` (not already imported) fails with ImportError,
    as if it were not installed; after, it imports as usual."""
    blocked = [name for name in names if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]  # the documented way to block
    try:
        yield
    finally:
        for name in blocked:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]


def _tune_gc() -> None:
    """Python's cycle collector, set for a server that holds thousands of connections, and
    turned back on (``serve`` turns it off before its imports).

    Start-up runs without it: importing and building the app make a great many objects that
    live as long as the process, and the collector, run every 700 allocations, would keep
    scanning them, slowing the start that clients coming back after a restart wait out. What
    start-up made is then moved out of the collector's sight without a collection first (the
    few unreachable objects it would find are not worth the pause).

    A full collection waits for 1,000 collections of the middle generation instead of 10.
    With the defaults, a full collection runs each time the heap has grown by a quarter, and
    each scans every connection's objects: while thousands of clients connect, that means
    repeated pauses, each longer than the last, during which nothing is served. Cyclic garbage
    is still collected, by the younger generations and by the rarer full collections; memory
    freed by reference counting, most of it, is not affected."""
    gc.freeze()
    young, middle, _full = gc.get_threshold()
    gc.set_threshold(young, middle, 1000)
    gc.enable()


async def _seed_demo(settings: Settings, host: str, port: int) -> None:
    from sourcevault.context import Context
    from sourcevault.demo import seed

    ctx = Context.build(settings)
    try:
        logins = await seed(ctx)
    finally:
        await ctx.aclose()
    if logins is None:
        typer.echo("demo: the database already has users; none created")
        return
    typer.echo(f"demo users (open http://{host}:{port}/realtime-test):")
    for login in logins:
        typer.echo(f"  {login.role.value:<12} {login.email}  password: {login.password}")


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Option(prompt=True)],
    name: Annotated[str, typer.Option(prompt=True)],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
) -> None:
    """Create a user account (works even when sign-up is disabled)."""
    from pydantic import ValidationError

    from sourcevault.auth.schemas import RegisterIn
    from sourcevault.config import get_settings
    from sourcevault.errors import AppError

    try:
        data = RegisterIn(email=email, name=name, password=password)
    except ValidationError as exc:
        _fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
    try:
        user = asyncio.run(_create_user(get_settings(), data))
    except AppError as exc:
        _fail(exc.message)
    typer.echo(f"created {user.email} ({user.id})")


async def _create_user(settings: Settings, data: RegisterIn) -> UserOut:
    from sourcevault.auth import service
    from sourcevault.context import Context

    ctx = Context.build(settings)
    try:
        user: UserOut = await service.register(ctx, data)
    finally:
        await ctx.aclose()
    return user


def _with_demo(application: Any, demo: bool) -> Any:
    """With ``--demo`` the test page offers the demo logins."""
    if demo:
        from sourcevault.demo import DEMO_LOGINS
        from sourcevault.web.routes import enable_demo

        enable_demo(
            application,
            [{"email": d.email, "password": d.password, "role": d.role.value} for d in DEMO_LOGINS],
        )
    return application


@app.command()
def watch(
    vault_id: Annotated[str, typer.Argument(help="The vault to follow.")],
    server: Annotated[
        str, typer.Option(help="The server's URL.", envvar="SOURCEVAULT_SERVER")
    ] = "http://127.0.0.1:8000",
    email: Annotated[
        str | None, typer.Option(help="Log in as this user (the password is prompted).")
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(help="A token from POST /api/auth/token instead.", envvar="SOURCEVAULT_TOKEN"),
    ] = None,
) -> None:
    """Follow a vault live: print each event as it arrives, through drops and restarts."""
    from rich.console import Console

    from sourcevault.client import Client, ClientError
    from sourcevault.watch import watch as follow

    console = Console(highlight=False, soft_wrap=True)

    async def run() -> int:
        if token:
            client = Client(server, token)
        else:
            login = email or typer.prompt("Email")
            password = typer.prompt("Password", hide_input=True)
            client = await Client.login(server, login, password)
        return await follow(client, vault_id, console)

    try:
        code = asyncio.run(run())
    except ClientError as exc:
        _fail(f"{server}: {exc.message}")
    except KeyboardInterrupt:
        code = 130
    raise typer.Exit(code)


def main() -> None:
    app()
