"""W1-W3: the web app at ``/`` in Chromium, on our server alone (there is no Node app beside it).

Each scenario launches Debian's Chromium (``/usr/bin/chromium``, with the flags the browser
tests use) through Playwright, from this process: it inherits this process's cores, the load
generators' (the server has the first core), and the scenario checks that it did. A person is
signed in by the session cookie of a token session written into the database with the world
(``world.py``): a returning user, with no sign-in form in the figures.

What is measured in the page is measured by ``webprobe.js``, which Playwright adds before the
page's own scripts: it wraps socket.io-client's ``io`` to see each message arrive and watches
the DOM with a MutationObserver; the app itself carries no instrumentation. Bytes are what
Chromium's DevTools protocol reports as received (``encodedDataLength``: headers and bodies as
sent, plus WebSocket frames' payloads).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.procs import JS, BenchError, cpu_seconds
from bench.report import summarize
from bench.world import World, make_world, source_title
from sourcevault.auth.cookies import COOKIE_NAME

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, CDPSession, Page, ViewportSize

    from bench.scenarios import Run, Sizes

CHROMIUM = Path("/usr/bin/chromium")
# Debian's Chromium as root on a closed network: the browser tests launch it the same way.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PROBE = JS / "webprobe.js"
VIEWPORT: ViewportSize = {"width": 1200, "height": 900}
WAIT_MS = 120_000  # the longest any one step may take on a busy machine
LONG_FRAME_MS = 50.0
SCROLL_MS = 240_000  # W2 gives up scrolling after this, and says it did not reach the end


def check_chromium() -> str | None:
    """Why the browser scenarios cannot run, or None when they can."""
    if not CHROMIUM.exists():
        return f"Chromium is not installed at {CHROMIUM}"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright Python package is not installed (make install)"
    return None


# -- the worlds ----------------------------------------------------------------------------------


def w1_world(s: Sizes) -> World:
    """One person who owns ``w1_vaults`` vaults, each with three other members."""
    world = make_world("w1", s.w1_vaults, 3)
    reader = world.vaults[0].owner
    return World(tuple(replace(v, owner=reader) for v in world.vaults))


def w2_world(s: Sizes) -> World:
    """One vault of ``w2_sources`` sources; its owner opens it."""
    [vault] = make_world("w2", 1, 0).vaults
    return World((replace(vault, sources=s.w2_sources),))


def w3_world(s: Sizes) -> World:
    """One vault of ``w3_sources`` sources: its owner creates, a viewer watches in the app."""
    [vault] = make_world("w3", 1, 1).vaults
    return World((replace(vault, sources=s.w3_sources),))


# -- the browser -----------------------------------------------------------------------------------


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _browser_cores(server_pid: int) -> list[int]:
    """The cores Chromium's processes may run on: those of this process, never the server's
    (when the run pins; otherwise every core)."""
    mine = os.sched_getaffinity(0)
    server = os.sched_getaffinity(server_pid)
    procs = [
        pid
        for pid in _descendants(os.getpid())
        if "chrom" in Path(f"/proc/{pid}/comm").read_text(errors="replace")
    ]
    if not procs:
        raise BenchError("no Chromium process found under the orchestrator")
    for pid in procs:
        with contextlib.suppress(OSError):  # a helper process may come and go
            cores = os.sched_getaffinity(pid)
            if cores != mine or (server != mine and cores & server):
                raise BenchError(f"Chromium process {pid} runs on cores {sorted(cores)}")
    return sorted(mine)


@dataclass
class Tab:
    """One browser context (one person, a cold cache) with one page, the probe in it, and its
    DevTools protocol session counting what it receives."""

    context: BrowserContext
    page: Page
    cdp: CDPSession | None = None
    # request id -> [url, resource type, bytes, CDP time it finished (s)]
    requests: dict[str, list[Any]] = field(default_factory=dict)
    frames: list[tuple[float, int]] = field(default_factory=list)  # (CDP time, bytes)
    document_sent: float | None = None  # CDP time the document was asked for
    errors: list[str] = field(default_factory=list)

    async def cpu(self) -> float:
        """CPU seconds the page's main thread has used so far (the renderer's own count, which
        a busy machine's waiting does not inflate as it does wall-clock times)."""
        assert self.cdp is not None
        answer = await self.cdp.send("Performance.getMetrics")
        metrics = {m["name"]: m["value"] for m in answer["metrics"]}
        return float(metrics["ThreadTime"])

    async def probe(self, expression: str, arg: Any = None) -> Any:
        return await self.page.evaluate(expression, arg)

    async def until(self, expression: str, timeout_ms: float = WAIT_MS) -> None:
        await self.page.wait_for_function(expression, timeout=timeout_ms, polling=20)

    def received(self, until_ms: float | None = None) -> dict[str, Any]:
        """Bytes received from the document's request to ``until_ms`` after it (or all)."""
        if self.document_sent is None:
            raise BenchError("the page's document was never requested")
        start = self.document_sent
        limit = None if until_ms is None else start + until_ms / 1000
        rows = [r for r in self.requests.values() if r[3] is not None]
        counted = [r for r in rows if limit is None or r[3] <= limit]
        frames = [b for t, b in self.frames if limit is None or t <= limit]
        by_type: dict[str, int] = {}
        for _url, kind, size, _t in counted:
            by_type[kind] = by_type.get(kind, 0) + size
        return {
            "bytes": sum(r[2] for r in counted) + sum(frames),
            "requests": len(counted),
            "websocket_frames": len(frames),
            "by_type": by_type | {"WebSocket": sum(frames)},
            # What came when: [path, type, bytes, ms from the document's request to the end].
            "timeline": sorted(
                (
                    [r[0].split("//", 1)[-1].split("/", 1)[-1], r[1], r[2], (r[3] - start) * 1000]
                    for r in counted
                ),
                key=lambda x: x[3],
            ),
        }


async def open_tab(browser: Browser, base_url: str, token: str) -> Tab:
    """A fresh context signed in as the token's user, with the probe, not yet navigated."""
    context = await browser.new_context(base_url=base_url, viewport=VIEWPORT)
    await context.add_cookies(
        [{"name": COOKIE_NAME, "value": token, "url": base_url, "httpOnly": True}]
    )
    await context.add_init_script(path=PROBE)
    page = await context.new_page()
    tab = Tab(context, page)
    page.on("pageerror", lambda exc: tab.errors.append(str(exc)))
    cdp = tab.cdp = await context.new_cdp_session(page)

    def sent(e: dict[str, Any]) -> None:
        if e.get("type") == "Document" and tab.document_sent is None:
            tab.document_sent = e["timestamp"]
        tab.requests.setdefault(
            e["requestId"], [e["request"]["url"], e.get("type", "Other"), 0, None]
        )

    def finished(e: dict[str, Any]) -> None:
        row = tab.requests.get(e["requestId"])
        if row is not None:
            row[2], row[3] = int(e["encodedDataLength"]), e["timestamp"]

    def frame(e: dict[str, Any]) -> None:
        tab.frames.append((e["timestamp"], len(e["response"]["payloadData"].encode())))

    cdp.on("Network.requestWillBeSent", sent)
    cdp.on("Network.loadingFinished", finished)
    cdp.on("Network.webSocketFrameReceived", frame)
    await cdp.send("Network.enable")
    await cdp.send("Performance.enable")
    await cdp.send("Network.clearBrowserCache")
    return tab


@contextlib.asynccontextmanager
async def chromium(run: Run) -> AsyncIterator[tuple[Browser, list[int]]]:
    problem = check_chromium()
    if problem:
        raise BenchError(problem)
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield browser, _browser_cores(run.server.pid)
        finally:
            await browser.close()


def _long_tasks(tasks: list[list[float]], start: float, end: float) -> dict[str, Any]:
    inside = [t for t in tasks if t[1] > start and t[0] < end]
    return {
        "count": len(inside),
        "longest_ms": max((t[1] - t[0] for t in inside), default=0.0),
        # The blocking time beyond 50 ms of each, as Lighthouse counts it.
        "blocking_ms": sum(max(0.0, t[1] - t[0] - 50) for t in inside),
    }


# -- W1: the first load of / ----------------------------------------------------------------------

VAULT_LIST_READY = """(n) => __probe.watch("ready", () =>
    document.querySelectorAll("li.vault-row").length === n
    && [...document.querySelectorAll(".members-count")].every((e) => !e.textContent.includes("…"))
    && document.getElementById("conn")?.textContent === "connected")"""
RENAME_FORM = """() => __probe.watch("renameForm", () => !!document.querySelector("form.rename"))"""


async def w1(run: Run) -> dict[str, Any]:
    """``w1_loads`` first loads of ``/``, each in a fresh context (an empty cache) of a person
    already signed in (the session cookie set).

    Interactive: from the navigation's start until the vault list shows every vault with its
    member count, the live connection says "connected", and no long task (over 50 ms) that
    began before that moment is still running; then a click on the first vault's Rename
    button is timed from the input to its form in the DOM, to show the controls respond.
    Bytes: everything received until that interactive moment.
    """
    sizes = run.sizes
    vaults = len(run.world.vaults)
    reader = run.world.vaults[0].owner
    loads: list[dict[str, Any]] = []
    async with chromium(run) as (browser, cores):
        for n in range(sizes.w1_loads):
            run.status(f"first load {n + 1} of {sizes.w1_loads}")
            tab = await open_tab(browser, run.server.url, reader.token)
            try:
                await tab.page.add_init_script(script=f"({VAULT_LIST_READY})({vaults})")
                server0 = cpu_seconds(run.server.pid)
                await tab.page.goto("/", wait_until="commit")
                await tab.until("() => __probe.marks.ready !== undefined")
                page_cpu, server_cpu = await tab.cpu(), cpu_seconds(run.server.pid) - server0
                marks = await tab.probe("() => __probe.marks")
                tasks = await tab.probe("() => __probe.longTasks")
                ready = marks["ready"]
                interactive = max([ready, *(end for start, end in tasks if start < ready)])
                rename = tab.page.locator("li.vault-row").first.get_by_role("button", name="Rename")
                await tab.probe(RENAME_FORM)
                await rename.click()
                await tab.until("() => __probe.marks.renameForm !== undefined")
                marks = await tab.probe("() => __probe.marks")
                await asyncio.sleep(0.2)  # the CDP events of the last responses
                received = tab.received(interactive)
                loads.append(
                    {
                        "ready_ms": ready,
                        # Both read a moment after the page was ready.
                        "page_cpu_ms": page_cpu * 1000,
                        "server_cpu_ms": server_cpu * 1000,
                        "interactive_ms": interactive,
                        "click_response_ms": marks["renameForm"] - marks["click:BUTTON"],
                        "long_tasks": _long_tasks(tasks, 0, interactive),
                        "received": received,
                        "received_in_all": tab.received()["bytes"],
                        "errors": tab.errors,
                    }
                )
            finally:
                await tab.context.close()
    interactive_ms = [x["interactive_ms"] for x in loads]
    return {
        "loads": len(loads),
        "vaults": vaults,
        "browser_cores": cores,
        "kb": max(x["received"]["bytes"] for x in loads) / 1000,
        "requests": max(x["received"]["requests"] for x in loads),
        "interactive": summarize(interactive_ms),
        "ready": summarize([x["ready_ms"] for x in loads]),
        "click_response": summarize([x["click_response_ms"] for x in loads]),
        "page_cpu": summarize([x["page_cpu_ms"] for x in loads]),
        "server_cpu": summarize([x["server_cpu_ms"] for x in loads]),
        "per_load": loads,
        "complete": all(not x["errors"] for x in loads),
    }


# -- W2: a vault of 5,000 sources -----------------------------------------------------------------

VAULT_VIEW_READY = """(n) => {
  __probe.watch("firstRows", () => !!document.querySelector("li.source"));
  __probe.watch("loaded", () =>
    document.querySelector(".filters .count")?.textContent === `${n} sources`
    && !!document.querySelector("form.add-source"));
}"""
SCROLL_TO_END = """async ({ oldest, step, withinMs }) => {
  // Timers drive the scrolling (a step every 16 ms, as a held key would) and animation frames
  // are only counted: if the page stops drawing, that shows as one long frame, not as a stop.
  const frames = [];
  let clicks = 0;
  const t0 = performance.now();
  let previous = null;
  let counting = true;
  const frame = (now) => {
    if (!counting) return;
    if (previous !== null) frames.push(now - previous);
    previous = now;
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  const lastRow = () => document.querySelector("ul.sources > li.source:last-child");
  let reached = false;
  while (performance.now() - t0 < withinMs) {
    const row = lastRow();
    if (row && row.querySelector(".title").textContent === oldest
        && row.getBoundingClientRect().bottom <= innerHeight) {
      reached = true;
      break;
    }
    const more = document.querySelector("button.more");
    if (more && more.getBoundingClientRect().top < innerHeight) {
      more.click();
      clicks += 1;
    }
    document.scrollingElement.scrollTop += step;
    await new Promise((resolve) => setTimeout(resolve, 16));
  }
  // The frame that shows the end, or the frame still awaited when it gave up.
  await new Promise((resolve) => {
    requestAnimationFrame(resolve);
    setTimeout(resolve, 5000);
  });
  counting = false;
  const now = performance.now();
  if (previous !== null && now - previous > 50) frames.push(now - previous);
  return { reached, ms: now - t0, frames, clicks,
    rows: document.querySelectorAll("li.source").length,
    last: lastRow()?.querySelector(".title")?.textContent ?? null };
}"""


async def w2(run: Run) -> dict[str, Any]:
    """The owner opens a vault of ``w2_sources`` sources from the vault list, then scrolls to
    its end one viewport every 16 ms, pressing "Show more" whenever it comes into view."""
    [vault] = run.world.vaults
    n = vault.sources
    async with chromium(run) as (browser, cores):
        tab = await open_tab(browser, run.server.url, vault.owner.token)
        try:
            page = tab.page
            run.status("opening the vault list")
            await page.goto("/", wait_until="commit")
            link = page.get_by_role("link", name=vault.name, exact=True)
            await link.wait_for(timeout=WAIT_MS)
            await page.evaluate(VAULT_VIEW_READY, n)
            tasks_before = len(await tab.probe("() => __probe.longTasks"))
            run.status(f"opening a vault of {n:,} sources")
            cpu0 = await tab.cpu()
            await link.click()
            await tab.until("() => __probe.marks.loaded !== undefined")
            cpu1 = await tab.cpu()
            marks = await tab.probe("() => __probe.marks")
            click = marks["click:vault-name"]
            tasks = (await tab.probe("() => __probe.longTasks"))[tasks_before:]
            run.status(f"scrolling to the end of {n:,} sources")
            await asyncio.sleep(0.5)  # the last "Loading" re-render and the flash settle
            scroll = await asyncio.wait_for(  # a page that stops drawing stops its frames too
                page.evaluate(
                    SCROLL_TO_END,
                    {"oldest": source_title(0), "step": VIEWPORT["height"], "withinMs": SCROLL_MS},
                ),
                SCROLL_MS / 1000 + 60,
            )
            frames = scroll["frames"]
            cpu2 = await tab.cpu()
        finally:
            await tab.context.close()
    return {
        "sources": n,
        "browser_cores": cores,
        "first_rows_ms": marks["firstRows"] - click,
        "loaded_ms": marks["loaded"] - click,
        "long_tasks_while_loading": _long_tasks(tasks, click, marks["loaded"]),
        "page_cpu_loading_s": cpu1 - cpu0,
        "page_cpu_scrolling_s": cpu2 - cpu1,
        "scroll": {
            "seconds": scroll["ms"] / 1000,
            "show_more_clicks": scroll["clicks"],
            "frame": summarize(frames),
            "long_frames": sum(1 for f in frames if f > LONG_FRAME_MS),
            "frames": len(frames),
        },
        "rows_kept": scroll["rows"],
        "reached_the_end": scroll["reached"],
        "last_row": scroll["last"],
        "samples": {"frame": frames},
        "complete": scroll["reached"] and not tab.errors,
        "errors": tab.errors,
    }


# -- W3: an event's arrival to the DOM ------------------------------------------------------------


async def w3(run: Run) -> dict[str, Any]:
    """A viewer has the vault open (``w3_sources`` sources already in it) while its owner
    creates ``w3_events`` sources over REST, ``w3_interval_ms`` apart, from the load generator.
    For each ``source:created`` the probe takes the time socket.io-client hands the message
    over (before the app's own listener) and the time its row is in the DOM (the
    MutationObserver's callback after the render) and the next animation frame after that."""
    sizes = run.sizes
    [vault] = run.world.vaults
    watcher = vault.watchers[0]
    count = sizes.w3_events
    async with chromium(run) as (browser, cores), run.loadgen("w3") as lg:
        tab = await open_tab(browser, run.server.url, watcher.token)
        try:
            page = tab.page
            run.status("opening the vault")
            await page.goto(f"/#/vault/{vault.id}", wait_until="commit")
            # Loaded, and joined: the viewer is in its own "Here now" list, which the join's
            # ack fills (a vault loaded before the socket connects is joined just after).
            await tab.until(
                f"""() => document.querySelector(".filters .count")?.textContent
                    === "{vault.sources} sources"
                    && !!document.querySelector("p.read-only")
                    && document.getElementById("conn")?.textContent === "connected"
                    && [...document.querySelectorAll(".here-name")]
                        .some((e) => e.textContent.endsWith("(you)"))"""
            )

            async def create(n: int) -> dict[str, Any]:
                from bench.scenarios import create as make  # it imports this module

                made = await make(run, lg, vault, n, sizes.w3_interval_ms)
                await tab.until(f"() => __probe.events.length >= {n}", timeout_ms=30_000)
                return made

            if sizes.warmup:  # also shows the vault is joined before the measured events
                run.status("warming up")
                await create(sizes.warmup)
                await lg.call("reset")
                await tab.probe("() => __probe.reset()")
            run.status(f"{count:,} creations while the app shows the vault")
            page0, server0 = await tab.cpu(), cpu_seconds(run.server.pid)
            made = await create(count)
            page_cpu, server_cpu = await tab.cpu() - page0, cpu_seconds(run.server.pid) - server0
            await asyncio.sleep(0.2)  # the last next-frame times
            events = await tab.probe("() => __probe.events")
            stats = await lg.call("stats", within=120)
        finally:
            await tab.context.close()
    created = {c[0] for c in stats["calls"]}
    to_dom = [e[2] - e[1] for e in events]
    to_frame = [e[3] - e[1] for e in events if e[3] is not None]
    commit_to_dom = [e[4] + e[2] - e[1] for e in events]
    return {
        "events": count,
        "seconds": made["seconds"],
        "sources_before": vault.sources,
        "browser_cores": cores,
        "to_dom": summarize(to_dom),
        "to_frame": summarize(to_frame),
        "commit_to_dom": summarize(commit_to_dom),
        # The page's main thread and the server, per event, over the measured creations.
        "page_cpu_ms_per_event": page_cpu * 1000 / count,
        "server_cpu_ms_per_event": server_cpu * 1000 / count,
        "samples": {"to_dom": to_dom, "to_frame": to_frame},
        "complete": len(events) == count and {e[0] for e in events} == created and not tab.errors,
        "errors": tab.errors,
    }
