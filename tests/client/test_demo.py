"""``sourcevault serve --demo``: the test page offers the demo logins, and they work."""

from __future__ import annotations

import httpx

from sourcevault.client import Client


async def test_a_demo_server_offers_working_logins_on_the_test_page(spawn):
    server = await spawn("--demo")
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        logins = (await http.get("/realtime-test/demo-logins")).json()["logins"]
    assert [login["role"] for login in logins] == ["owner", "contributor", "viewer"]
    for login in logins:
        async with await Client.login(server.url, login["email"], login["password"]) as client:
            (vault,) = (await client.http.get("/api/vaults")).json()["vaults"]
            view = await client.join(vault["id"])
            assert (view.name, view.role, len(view.sources)) == ("Demo vault", login["role"], 3)
