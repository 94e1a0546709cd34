"""schemathesis against the app's own OpenAPI schema, on a live server with a real user's token:
no request it generates, valid or not, gets a 5xx or an answer that breaks the schema."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import httpx

from tests import factories
from tests.live import LiveServer

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
MAX_EXAMPLES = 25
# Every check but one, positive_data_acceptance: a schema cannot say which strings are valid
# paging cursors (they are opaque), or that text may hold no NUL character, so some "valid"
# inputs are rightly refused. Logout is left out because it would revoke the token the run uses.
ARGS = [
    "--checks=all",
    "--exclude-checks=positive_data_acceptance",
    f"--max-examples={MAX_EXAMPLES}",
    "--exclude-path=/api/auth/logout",
    "--generation-database=none",
    "--no-color",
]


async def test_the_api_keeps_to_its_own_schema(
    server: LiveServer, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    owner = await factories.member(server, client)
    try:
        vault = await factories.vault(owner)
        await factories.source(owner, vault["id"], url="https://example.com", tags=["x"])
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
