"""One browser window per person on the test page, and the checks a person would make."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Locator, Page, expect

from tests.factories import PASSWORD

WAIT = 10_000  # ms: the longest anything may take to show (a login, a reconnect)


@dataclass
class Window:
    context: BrowserContext
    page: Page
    errors: list[str] = field(default_factory=list)

    def card(self, vault_id: str) -> Locator:
        return self.page.locator(f'article.card[data-vault-id="{vault_id}"]')

    def source(self, vault_id: str, title: str) -> Locator:
        return self.card(vault_id).locator("li.source", has_text=title)

    def log_row(self, text: str) -> Locator:
        return self.page.locator("#log tr", has_text=text)

    @property
    def conn(self) -> Locator:
        return self.page.locator("#conn")

    async def via(self, vault_id: str, channel: str) -> None:
        await self.card(vault_id).locator(f'input[name="via"][value="{channel}"]').check()

    async def add(self, vault_id: str, title: str, url: str = "", tags: str = "") -> None:
        form = self.card(vault_id).locator("form.add")
        await form.locator('input[name="title"]').fill(title)
        await form.locator('input[name="url"]').fill(url)
        await form.locator('input[name="tags"]').fill(tags)
        await form.get_by_role("button", name="Add source").click()

    def on_console(self, message: ConsoleMessage) -> None:
        # A refused request is logged by the browser itself; the page shows it, it is no error.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(message.text)

    async def close(self) -> None:
        await self.context.close()


async def open_window(
    browser: Browser,
    base_url: str,
    email: str,
    vault_id: str | None = None,
    width: int = 900,
    height: int = 1000,
) -> Window:
    """Open the page (on one vault if given), log in through its form, and wait until the
    socket is connected (and the vault joined)."""
    context = await browser.new_context(
        base_url=base_url, viewport={"width": width, "height": height}
    )
    page = await context.new_page()
    window = Window(context, page)
    page.on("pageerror", lambda exc: window.errors.append(str(exc)))
    page.on("console", window.on_console)
    await page.goto("/realtime-test" + (f"?vault={vault_id}" if vault_id else ""))
    await page.locator('#login-form input[name="email"]').fill(email)
    await page.locator('#login-form input[name="password"]').fill(PASSWORD)
    await page.locator("#login-form").get_by_role("button", name="Log in").click()
    await expect(window.conn).to_have_text("connected", timeout=WAIT)
    if vault_id:
        await expect(window.log_row("joined")).to_be_visible(timeout=WAIT)
    return window


async def side_by_side(browser: Browser, windows: list[tuple[str, Window]], path: Path) -> None:
    """Write one PNG of the windows next to each other, each under its caption."""
    cells = []
    for caption, window in windows:
        shot = base64.b64encode(await window.page.screenshot(full_page=True)).decode()
        cells.append(
            f"<figure><figcaption>{html.escape(caption)}</figcaption>"
            f'<img src="data:image/png;base64,{shot}"></figure>'
        )
    context = await browser.new_context(viewport={"width": 1000 * len(cells), "height": 800})
    page = await context.new_page()
    await page.set_content(
        "<style>body{margin:0;display:flex;gap:16px;padding:16px;background:#c9ced6;"
        "font:600 18px system-ui}figure{margin:0}figcaption{padding:0 0 8px}"
        "img{display:block;border:1px solid #888}</style>" + "".join(cells)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(path), full_page=True)
    await context.close()
