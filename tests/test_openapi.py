"""schemathesis against the app's own OpenAPI schema, on a live server with a real user's token:
no request it generates, valid or not, gets a 5xx or an answer that breaks the schema."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from pathlib import Path

import httpx

from tests import factories
from tests.live import LiveServer

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
MAX_EXAMPLES = 25
# Logout is left out because it would revoke the token the run uses.
ARGS = [
    f"--max-examples={MAX_EXAMPLES}",
    "--exclude-path=/api/auth/logout",
    "--generation-database=none",
    "--no-color",
]


# Every check but one, positive_data_acceptance: a schema cannot say which strings are valid
# paging cursors (they are opaque), or that text may hold no NUL character, so some "valid"
# inputs are rightly refused. (In the file, not as --checks: a check named on the command line
# would override the operations' settings below.)
# negative_data_rejection is off for the two operations that take an array-of-strings query
# parameter (``tag``), for a known false positive of schemathesis (its issue 3056): it sends a
# "wrong type" such as ``true``, which on the wire is the valid one-tag list ``tag=true``, and
# expects it refused.
CONFIG = """
[checks]
enabled = true
positive_data_acceptance.enabled = false

[[operations]]
include-path = ["/api/search", "/api/vaults/{vault_id}/sources"]
include-method = "GET"
checks.negative_data_rejection.enabled = false
"""


async def test_the_api_keeps_to_its_own_schema(
    server: LiveServer, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    owner = await factories.member(server, client)
    try:
        vault = await factories.vault(owner)
        await factories.source(owner, vault["id"], url="https://example.com", tags=["x"])
        (tmp_path / "schemathesis.toml").write_text(CONFIG)
        # Run as a child process, awaited, so this event loop keeps serving its requests.
        process = await asyncio.create_subprocess_exec(
            str(SCHEMATHESIS),
            "run",
            f"{server.url}/openapi.json",
            f"--header=Authorization: Bearer {owner.token}",
            *ARGS,
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(process.communicate(), timeout=100)
    finally:
        await owner.http.aclose()
    report = out.decode(errors="replace")
    assert process.returncode == 0, report
    summary = re.search(r"Test cases:\s*\n\s*(\d+) generated, (\d+) passed", report)
    assert summary is not None, report
    print(f"schemathesis: {summary.group(1)} test cases, all passed", file=sys.stderr)
    # The whole REST surface was exercised, not a corner of it.
    tested = re.search(r"Tested:\s+(\d+)", report)
    assert tested is not None and int(tested.group(1)) >= 20, report


async def test_every_schema_the_document_points_at_is_in_it(client: httpx.AsyncClient) -> None:
    """Each route's error answers point at ``ErrorBody`` by reference; the schema itself is in
    the document's components (a reader or a generated client resolves every reference)."""
    document = (await client.get("/openapi.json")).json()
    refs = set(re.findall(r'"\$ref": ?"#/components/schemas/([^"]+)"', json.dumps(document)))
    assert "ErrorBody" in refs
    assert refs <= set(document["components"]["schemas"]), refs
