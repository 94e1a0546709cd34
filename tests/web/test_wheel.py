"""Issue 18, point 8: an installed wheel (not an editable checkout) serves the app and the test
page with every script they load, from a folder with no node_modules in it.

The wheel is built from this checkout and installed, without dependencies, into a fresh venv;
the dependencies are lent from the test's own environment through a .pth file (installing
them from the index takes over a minute and is not what this shows). The fresh venv's own
site-packages comes first, and the test checks that the served package is the wheel's."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import site
import subprocess
import sys
import sysconfig
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest

from sourcevault.web.vendor_files import VENDOR_FILES
from tests import services
from tests.live import free_socket

ROOT = Path(__file__).resolve().parents[2]
# A file the page names (not an API answer it asks for early, like the session).
ASSET = re.compile(r"""<(?:script|link)\b[^>]*\b(?:src|href)="(/(?!api/)[^"]*)\"""")
IMPORT = re.compile(r"""\bimport\b[^"';]*?["'](/[^"']+)["']""")
SOURCE_MAP = re.compile(r"//# sourceMappingURL=(\S+)\s*$")


@pytest.fixture
def backend() -> str:
    return "sqlite"


def run(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel built from this checkout installed in it."""
    for package, inside, _media in VENDOR_FILES.values():
        if not (ROOT / "node_modules" / package / inside).is_file():
            services.missing("the npm packages (npm ci) to build a wheel with")
    work = tmp_path_factory.mktemp("wheel")
    run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "-q",
        "-w",
        work / "dist",
        ROOT,
    )
    (wheel,) = (work / "dist").glob("sourcevault-*.whl")
    venv = work / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "-q", wheel)
    purelib = Path(
        run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip()
    )
    lent = [*site.getsitepackages(), sysconfig.get_paths()["purelib"]]
    (purelib / "zz_lent_dependencies.pth").write_text("\n".join(dict.fromkeys(lent)) + "\n")
    return venv


@contextlib.asynccontextmanager
async def serving(venv: Path, folder: Path) -> AsyncIterator[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOURCEVAULT_")}
    env["SOURCEVAULT_METRICS_BIND"] = ""
    command = str(venv / "bin" / "sourcevault")
    await asyncio.to_thread(run, command, "db", "upgrade", cwd=folder, env=env)
    with contextlib.closing(free_socket()) as probe:
        port = int(probe.getsockname()[1])
    process = await asyncio.create_subprocess_exec(
        command, "serve", "--host", "127.0.0.1", "--port", str(port),
        cwd=folder, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url, timeout=5) as http:
            for _ in range(200):
                if process.returncode is not None:
                    assert process.stderr is not None
                    pytest.fail((await process.stderr.read()).decode()[-2000:])
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.05)
        yield url
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 10)


async def every_asset(http: httpx.AsyncClient, page: str) -> dict[str, int]:
    """The status of every file the page names, and every file those name in turn (module
    imports, source maps)."""
    response = await http.get(page)
    assert response.status_code == 200
    todo = [urljoin(page, path) for path in ASSET.findall(response.text)]
    seen: dict[str, int] = {}
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        got = await http.get(path)
        seen[path] = got.status_code
        if path.endswith(".js") and got.status_code == 200:
            todo += [urljoin(path, p) for p in IMPORT.findall(got.text)]
            todo += [urljoin(path, p) for p in SOURCE_MAP.findall(got.text)]
    return seen


async def test_an_installed_wheel_serves_every_script_its_pages_load(
    installed: Path, tmp_path: Path
) -> None:
    python = installed / "bin" / "python"
    where = run(python, "-c", "import sourcevault.web.routes as r; print(r.__file__)").strip()
    assert Path(where).is_relative_to(installed), where
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    assert not (folder / "node_modules").exists()

    async with serving(installed, folder) as url, httpx.AsyncClient(base_url=url) as http:
        app = await every_asset(http, "/")
        test_page = await every_asset(http, "/realtime-test")
    assert app == dict.fromkeys(app, 200), app
    assert test_page == dict.fromkeys(test_page, 200), test_page
    assert {
        "/app/app.css",
        "/app/main.js",
        "/app/views.js",
        "/app/follow.js",
        "/vendor/socket.io.min.js",
        "/vendor/socket.io.min.js.map",
        "/vendor/preact-htm.js",
    } <= set(app)
    assert {"/realtime-test/vendor/socket.io.min.js", "/app/follow.js"} <= set(test_page)
