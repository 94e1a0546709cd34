"""Mutations through REST: a steady mix of creates, updates and deletes."""

from __future__ import annotations

import itertools
from typing import Any

import httpx

from tests import factories

_titles = itertools.count(1)


class Writer:
    """One member's REST client on one server, changing one vault."""

    def __init__(self, url: str, token: str, vault_id: str) -> None:
        self.http = httpx.AsyncClient(
            base_url=url, timeout=15, headers={"Authorization": f"Bearer {token}"}
        )
        self.vault_id = vault_id
        self.ids: list[str] = []

    async def create(self, **fields: Any) -> dict[str, Any]:
        body = {"title": f"Source {next(_titles)}", **fields}
        response = await self.http.post(f"/api/vaults/{self.vault_id}/sources", json=body)
        assert response.status_code == 201, response.text
        source: dict[str, Any] = response.json()["source"]
        self.ids.append(source["id"])
        return source

    async def mutate(self, count: int) -> None:
        """``count`` changes: mostly creates, with an update every third and a delete every
        fifth, so every event type crosses the fault."""
        for n in range(1, count + 1):
            if n % 5 == 0 and self.ids:
                response = await self.http.delete(f"/api/sources/{self.ids.pop(0)}")
                assert response.status_code == 204, response.text
            elif n % 3 == 0 and self.ids:
                response = await self.http.patch(
                    f"/api/sources/{self.ids[-1]}", json={"annotation": f"edit {n}", "tags": ["x"]}
                )
                assert response.status_code == 200, response.text
            else:
                await self.create()

    async def seq(self) -> int:
        response = await self.http.get(f"/api/vaults/{self.vault_id}")
        assert response.status_code == 200, response.text
        return int(response.json()["vault"]["seq"])

    async def close(self) -> None:
        await self.http.aclose()


async def rest_member(url: str, name: str) -> factories.Member:
    """A user registered and logged in over REST (for server processes, where the in-process
    factories cannot reach the database)."""
    async with httpx.AsyncClient(base_url=url, timeout=15) as http:
        user = await factories.register(http, name=name)
        token = await factories.token_for(http, user["email"])
    client = httpx.AsyncClient(
        base_url=url, timeout=15, headers={"Authorization": f"Bearer {token}"}
    )
    return factories.Member(user["id"], user["email"], user["name"], token, client)


async def rest_team(url: str) -> factories.Team:
    """Owner, contributor and viewer of one vault (and an outsider), all made over REST."""
    owner, contributor, viewer, outsider = [
        await rest_member(url, name)
        for name in ("Olive Owner", "Carl Contributor", "Vera Viewer", "Otto Outsider")
    ]
    vault = await factories.vault(owner)
    await factories.add(owner, vault["id"], contributor, "contributor")
    await factories.add(owner, vault["id"], viewer, "viewer")
    return factories.Team(owner, contributor, viewer, outsider, vault)
