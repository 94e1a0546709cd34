"""One browser context per person on the app at ``/``, and the checks a person (or axe-core)
would make of what it shows."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Locator, Page, expect

from tests import services
from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "screenshots"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WAIT = 10_000  # ms: the longest anything may take to show (a login, a reconnect)
LIVE = 5_000  # ms: a change by someone else shows within this (on a busy 2-core machine)


@dataclass
class Person:
    name: str
    email: str
    context: BrowserContext
    page: Page
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def source(self, title: str) -> Locator:
        return self.page.locator("li.source", has_text=title)

    def titles(self) -> Locator:
        return self.page.locator("ul.sources li.source .title")

    @property
    def conn(self) -> Locator:
        return self.page.locator("#conn")

    def button(self, name: str, within: Locator | None = None) -> Locator:
        return (within or self.page).get_by_role("button", name=name, exact=True)

    async def open_vault(self, name: str) -> None:
        await self.page.get_by_role("link", name=name, exact=True).click()
        await expect(self.page.locator("h1.vault-title")).to_have_text(name, timeout=WAIT)

    async def add_source(self, title: str, url: str = "", tags: str = "", note: str = "") -> None:
        form = self.page.locator("form.add-source")
        await form.get_by_label("Title").fill(title)
        await form.get_by_label("Link").fill(url)
        await form.get_by_label("Tags").fill(tags)
        await form.get_by_label("Note").fill(note)
        await self.button("Add source", form).click()
        await expect(form.get_by_label("Title")).to_have_value("", timeout=WAIT)

    async def shot(self, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        await self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    async def no_serious_violations(self, screen: str) -> None:
        """axe-core, injected from the npm install, finds nothing serious or critical."""
        if not AXE.exists():
            services.missing("the axe-core npm package (npm ci)")
        if not await self.page.evaluate("() => typeof window.axe === 'object'"):
            await self.page.evaluate(AXE.read_text())
        found: list[dict[str, Any]] = await self.page.evaluate(
            """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
                .map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.html)}))"""
        )
        serious = [v for v in found if v["impact"] in ("serious", "critical")]
        assert serious == [], (screen, serious)

    def on_console(self, message: ConsoleMessage) -> None:
        # A refused request is logged by the browser itself; the app shows it, it is no error.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(message.text)

    async def close(self) -> None:
        await self.context.close()


async def new_person(browser: Browser, base_url: str, name: str, email: str) -> Person:
    """A new context on ``/``, showing the sign-in screen."""
    context = await browser.new_context(base_url=base_url, viewport={"width": 1200, "height": 900})
    page = await context.new_page()
    person = Person(name, email, context, page)
    page.on("pageerror", lambda exc: person.errors.append(str(exc)))
    page.on("console", person.on_console)

    async def dismiss(dialog: Any) -> None:
        person.dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", dismiss)
    await page.goto("/")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible(timeout=WAIT)
    return person


async def sign_in(browser: Browser, base_url: str, name: str, email: str) -> Person:
    """A new context on ``/``: sign in through the form, and wait for the list."""
    person = await new_person(browser, base_url, name, email)
    form = person.page.locator("#signin-form")
    await form.get_by_label("Email").fill(email)
    await form.get_by_label("Password").fill(PASSWORD)
    await person.button("Sign in", form).click()
    await expect(person.page.get_by_role("heading", name="Your vaults")).to_be_visible(timeout=WAIT)
    await expect(person.conn).to_have_text("connected", timeout=WAIT)
    return person


async def sign_up(browser: Browser, base_url: str, name: str, email: str) -> Person:
    """A new context on ``/``: create an account through the form, and wait for the list."""
    person = await new_person(browser, base_url, name, email)
    page = person.page
    await person.button("Create an account").click()
    form = page.locator("#signin-form")
    await form.get_by_label("Name").fill(name)
    await form.get_by_label("Email").fill(email)
    await form.get_by_label("Password").fill(PASSWORD)
    await person.button("Create account", form).click()
    await expect(page.get_by_role("heading", name="Your vaults")).to_be_visible(timeout=WAIT)
    await expect(person.conn).to_have_text("connected", timeout=WAIT)
    return person


def any_text(*parts: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(p) for p in parts))
