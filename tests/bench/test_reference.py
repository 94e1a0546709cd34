"""The Node reference stays what a competent Node developer writes: stock socket.io and the
stock Redis adapter, given only the options BENCHMARKS.md lists ("The reference"). A tuning
added to ``bench/reference-server.js`` fails here until that list says what it is and why."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = (ROOT / "bench" / "reference-server.js").read_text()


def test_socket_io_gets_its_default_transports_and_a_one_mib_message_limit_only() -> None:
    options = re.findall(r"new Server\(httpServer, (\{[^}]*\})\)", SCRIPT)
    assert options == ["{ transports: ['polling', 'websocket'], maxHttpBufferSize: 1024 * 1024 }"]


def test_the_redis_adapter_is_set_up_as_its_documentation_does_with_a_key_of_the_runs_own() -> None:
    assert re.findall(r"createClient\(([^)]*)\)", SCRIPT) == ["{ url: REDIS_URL }"]
    assert "const subClient = pubClient.duplicate();" in SCRIPT
    assert re.findall(r"createAdapter\(([^)]*)\)", SCRIPT) == [
        "pubClient, subClient, { key: REDIS_KEY }"
    ]


def test_it_loads_node_s_own_modules_and_the_stock_packages_only() -> None:
    required = sorted(set(re.findall(r"require\('([^']+)'\)", SCRIPT)))
    assert required == [
        "@socket.io/redis-adapter",
        "node:crypto",
        "node:fs",
        "node:http",
        "redis",
        "socket.io",
    ]
    manifest = json.loads((ROOT / "package.json").read_text())
    installed = {**manifest.get("dependencies", {}), **manifest.get("devDependencies", {})}
    # ws's optional native speed-ups and other engines or parsers are not installed.
    for tuning in ("bufferutil", "utf-8-validate", "uWebSockets.js", "socket.io-msgpack-parser"):
        assert tuning not in installed
