"""Small helpers for the import and export tests: post a file, read a vault's sources."""

from __future__ import annotations

from typing import Any

import httpx

from tests.factories import Member


async def post_import(
    who: Member,
    vault_id: str,
    fmt: str,
    body: bytes | str,
    *,
    dry_run: bool = False,
    timeout: float = 10,
) -> httpx.Response:
    params = {"format": fmt}
    if dry_run:
        params["dryRun"] = "true"
    content = body.encode() if isinstance(body, str) else body
    return await who.http.post(
        f"/api/vaults/{vault_id}/import", params=params, content=content, timeout=timeout
    )


async def imported(who: Member, vault_id: str, fmt: str, body: bytes | str) -> dict[str, Any]:
    response = await post_import(who, vault_id, fmt, body)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def all_sources(who: Member, vault_id: str) -> list[dict[str, Any]]:
    """Every source of the vault, newest first."""
    sources: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 100}
    while True:
        page = (await who.http.get(f"/api/vaults/{vault_id}/sources", params=params)).json()
        sources.extend(page["sources"])
        if not page["nextCursor"]:
            return sources
        params["cursor"] = page["nextCursor"]


def content(source: dict[str, Any]) -> tuple[Any, ...]:
    """What an import or export keeps of a source."""
    return (source["title"], source["url"], source["annotation"], tuple(source["tags"]))


def statuses(answer: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(e["status"], e["title"]) for e in answer["entries"]]
