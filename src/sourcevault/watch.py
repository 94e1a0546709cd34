"""``sourcevault watch``: follow one vault live in the terminal, through drops and restarts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.text import Text

from sourcevault.client import (
    Applied,
    CaughtUp,
    Client,
    ClientError,
    Connected,
    Disconnected,
    Reconnecting,
    RoleChanged,
    Stopped,
    VaultGone,
)

STYLES = {"created": "green", "updated": "yellow", "deleted": "red"}
STOP_REASONS = {
    "expired": "the session expired; log in again",
    "logged_out": "the session was logged out; log in again",
    "unauthorized": "the server refused the session; log in again",
}
GONE_REASONS = {
    "vault_deleted": "the vault was deleted",
    "removed": "you were removed from the vault",
    "unavailable": "the vault is no longer available to you",
}


def _now() -> Text:
    return Text(datetime.now().strftime("%H:%M:%S.%f")[:-3] + "  ", style="dim")


def _say(console: Console, message: str, style: str = "cyan") -> None:
    console.print(_now() + Text(message, style=style))


def describe(event: dict[str, Any]) -> str:
    """What an event is about, in a few words."""
    if "source" in event:
        return f'"{event["source"]["title"]}"'
    if "member" in event:
        member = event["member"]
        return f"{member.get('name', member.get('userId'))} ({member.get('role')})"
    if "vault" in event:
        return f'"{event["vault"]["name"]}"'
    if "import" in event:
        done = event["import"]
        return f"{done.get('count')} sources from {done.get('format')}"
    return ""


def event_line(event: dict[str, Any], live: bool) -> Text:
    kind = str(event["type"])
    actor = event.get("actor") or {}
    line = _now()
    line.append(f"#{event['seq']:<5} ", style="bold")
    line.append(f"{kind:<16} ", style=STYLES.get(kind.split(":")[-1], "blue"))
    line.append(describe(event))
    line.append(f"  by {actor.get('userName')} ({actor.get('role')})", style="dim")
    if live:
        at = datetime.fromisoformat(str(event["at"]).replace("Z", "+00:00"))
        delay_ms = (datetime.now(UTC) - at).total_seconds() * 1000
        line.append(f"  +{delay_ms:.0f} ms", style="dim")
    else:
        line.append("  (caught up)", style="magenta")
    return line


async def watch(client: Client, vault_id: str, console: Console) -> int:
    """Print the vault's events until the session ends or the vault goes; the exit code."""
    async with client:
        who = client.user["name"] if client.user else "token"
        _say(console, f"connected to {client.url} as {who}")
        try:
            view = await client.join(vault_id)
        except ClientError as exc:
            reason = (
                "no such vault, or you are not a member"
                if exc.code in ("NOT_FOUND", "ACCESS_DENIED")
                else exc.message
            )
            _say(console, f"cannot follow {vault_id}: {reason}", "red")
            return 1
        _say(
            console,
            f'following "{view.name}" as {view.role}: {len(view.sources)} sources, '
            f"seq {view.seq} (Ctrl-C to stop)",
        )
        async for update in client.updates():
            if isinstance(update, Applied):
                console.print(event_line(update.event, update.live))
            elif isinstance(update, Disconnected):
                _say(console, f"connection lost ({update.reason or 'closed'})", "yellow")
            elif isinstance(update, Reconnecting) and (
                update.attempt <= 3 or update.attempt % 15 == 0  # a long outage stays quiet
            ):
                _say(
                    console,
                    f"reconnecting: attempt {update.attempt} in {update.delay:.1f} s",
                    "yellow",
                )
            elif isinstance(update, Connected) and not update.first:
                plural = "s" if update.attempts != 1 else ""
                _say(console, f"reconnected after {update.attempts} attempt{plural}", "green")
            elif isinstance(update, CaughtUp):
                plural = "" if update.count == 1 else "s"
                _say(
                    console, f"caught up {update.count} event{plural}; at seq {update.seq}", "green"
                )
            elif isinstance(update, RoleChanged):
                _say(console, f"your role is now {update.role}")
            elif isinstance(update, VaultGone) and update.vault_id == vault_id:
                _say(console, f"stopped: {GONE_REASONS.get(update.reason, update.reason)}", "red")
                return 1
            elif isinstance(update, Stopped):
                _say(console, f"stopped: {STOP_REASONS.get(update.reason, update.reason)}", "red")
                return 1
    return 0
