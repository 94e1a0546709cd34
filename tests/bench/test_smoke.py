"""A smoke run of the benchmark: every scenario at tiny sizes, on our server and on the Node
reference (the web app's W scenarios on ours alone, in Chromium), through the real
``python -m bench --quick`` that ``make bench`` runs. It checks that each scenario ran to the
end and counted right (every client got every event), never how fast anything was."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.collab import Corpus
from bench.collab import sizes as collab_sizes
from bench.presence import CHURN_QUICK
from bench.scenarios import QUICK, SCENARIOS
from bench.web import check_chromium
from tests import services

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.node, pytest.mark.timeout(360)]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if shutil.which("node") is None or not (ROOT / "node_modules" / "socket.io").is_dir():
        services.missing("Node.js and node_modules")
    pg = services.pg_available()
    if not pg and services.in_ci():
        pytest.fail("PostgreSQL is required under CI=true", pytrace=False)
    redis = services.redis_available()
    if not redis and services.in_ci():
        pytest.fail("Redis is required under CI=true", pytrace=False)
    admin = f"postgresql://{services.PG_USER}@{services.PG_HOST}:{services.PG_PORT}/postgres"
    out = tmp_path_factory.mktemp("bench")
    command = [sys.executable, "-m", "bench", "--quick", "--out", str(out)]
    command += ["--pg", admin if pg else "", "--redis", services.REDIS_URL if redis else ""]
    # Without Chromium the others still run; the web app's test below skips (fails in CI).
    chromium = check_chromium() is None
    if not chromium:
        command += ["--only", ",".join(s.key for s in SCENARIOS if s.key[0] != "W")]
    done = subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    [path] = out.glob("bench-*.json")
    document: dict[str, Any] = json.loads(path.read_text())
    document["_stdout"] = done.stdout
    document["_pg"] = pg
    document["_cluster"] = pg and redis  # B8 runs only with both
    document["_chromium"] = chromium
    return document


def test_every_scenario_ran_on_both_servers(run: dict[str, Any]) -> None:
    """Both servers, but for the scenarios of ours alone (``reference=False``)."""
    results = run["results"]
    ran = [
        s
        for s in SCENARIOS
        if (s.key != "B8" or run["_cluster"]) and (s.key[0] != "W" or run["_chromium"])
    ]
    assert sorted(results) == sorted(s.key for s in ran)
    for scenario in ran:
        sides = results[scenario.key]
        expected = ["ours", "reference"] if scenario.reference else ["ours"]
        assert sorted(sides) == expected, scenario.key
        for side, outcome in sides.items():
            assert "error" not in outcome, (scenario.key, side, outcome.get("error"))
            assert outcome["complete"] is True, (scenario.key, side)
    assert "sourcevault beside Node socket.io" in run["_stdout"]
    assert {row["scenario"] for row in run["table"]} == set(results)


@pytest.mark.parametrize("side", ["ours", "reference"])
def test_every_client_got_every_event(run: dict[str, Any], side: str) -> None:
    results = run["results"]
    b1 = results["B1"][side]
    assert (b1["clients"], b1["events"]) == (QUICK.b1_clients, QUICK.b1_creations)
    assert b1["delivery"]["n"] == QUICK.b1_clients * QUICK.b1_creations
    assert b1["rest_to_last"]["n"] == QUICK.b1_creations
    b2 = results["B2"][side]
    assert (b2["clients"], b2["events"]) == (QUICK.b2_clients, QUICK.b2_creations)
    assert b2["last_receiver"]["n"] == QUICK.b2_creations
    b3 = results["B3"][side]
    assert b3["delivered"] == QUICK.b3_clients * b3["events"]
    b4 = results["B4"][side]
    assert b4["connections"] == QUICK.b4_connections
    assert b4["at_load"]["delivery"]["n"] == QUICK.b1_clients * QUICK.b1_creations
    b5 = results["B5"][side]
    assert (b5["refused"], b5["accepted"]) == (QUICK.b5_handshakes, 0)
    b6 = results["B6"][side]
    assert b6["caught_up"] == b6["clients"] == QUICK.b6_clients
    assert b6["reconnects"] >= QUICK.b6_clients


def test_rest_throughput_ran_on_each_database(run: dict[str, Any]) -> None:
    b7 = run["results"]["B7"]
    databases = ["postgres", "sqlite"] if run["_pg"] else ["sqlite"]
    assert sorted(b7["ours"]) == sorted([*databases, "complete"])
    for outcome in [*(b7["ours"][d] for d in databases), b7["reference"]["memory"]]:
        assert outcome["complete"] is True
        assert outcome["events"] == QUICK.b7_creations
        assert outcome["clients"] == QUICK.b7_watchers


def test_search_and_import_ran_on_each_database(run: dict[str, Any]) -> None:
    databases = ["postgres", "sqlite"] if run["_pg"] else ["sqlite"]
    sizes = collab_sizes(QUICK)
    searches = sizes.s1_rounds * len(Corpus().queries())
    for database in databases:
        s1 = run["results"]["S1"]["ours"][database]
        assert s1["sources"] == sizes.s1_sources
        assert (s1["vault"]["n"], s1["all"]["n"]) == (searches, searches)
        i1 = run["results"]["I1"]["ours"][database]
        assert (i1["entries"], i1["complete"]) == (sizes.i1_entries, True)


def test_it_says_which_machine_it_ran_on(run: dict[str, Any]) -> None:
    machine = run["machine"]
    assert machine["nproc"] >= 1
    assert machine["python_packages"]["python-socketio"]
    assert machine["node_packages"]["socket.io"]


def test_two_instances_over_redis_each_got_every_event_and_decoded_it_once(
    run: dict[str, Any],
) -> None:
    """B8: half the clients on each of two servers, the writes to the first; every client got
    every event, and each of our instances decoded each Redis message once, not per socket."""
    if not run["_cluster"]:
        services.missing("PostgreSQL and Redis")
    b8 = run["results"]["B8"]
    for side in ("ours", "reference"):
        assert (b8[side]["clients"], b8[side]["events"]) == (QUICK.b8_clients, QUICK.b8_creations)
        assert b8[side]["last_receiver"]["n"] == QUICK.b8_creations
        shares = [one["clients"] for one in b8[side]["instances"]]
        assert shares == [QUICK.b8_clients // 2] * 2
    for one in b8["ours"]["instances"]:
        assert one["redis_decoded"] == QUICK.b8_creations, one
        assert one["deliveries_direct"] + one["deliveries_queued"] == one["clients"] * (
            QUICK.b8_creations
        )
    assert b8["ours"]["decoded_per_event"] == 1


def test_two_instances_capacity_is_a_fan_out_through_one_to_clients_on_both(
    run: dict[str, Any],
) -> None:
    """B8's delivered/s is B3's measure across the pair: offered rates through the first server,
    every client on either server counted, the best rate at which all got every event."""
    if not run["_cluster"]:
        services.missing("PostgreSQL and Redis")
    for side in ("ours", "reference"):
        capacity = run["results"]["B8"][side]["capacity"]
        assert capacity["complete"] is True, side
        assert capacity["clients"] == QUICK.b8_clients
        assert [step["offered_per_s"] for step in capacity["steps"]] == [
            rate * QUICK.b8_clients for rate in QUICK.b8_rates
        ]
        assert capacity["delivered"] == QUICK.b8_clients * capacity["events"]
        assert capacity["delivered_per_s"] > 0


def test_presence_churn_ran_beside_b1(run: dict[str, Any]) -> None:
    p1 = run["results"]["P1"]["ours"]
    assert p1["joins"] == CHURN_QUICK
    for part in ("alone", "churned"):
        assert p1[part]["delivery"]["n"] == QUICK.b1_clients * QUICK.b1_creations


def test_the_web_app_was_loaded_opened_scrolled_and_followed(run: dict[str, Any]) -> None:
    if not run["_chromium"]:
        services.missing(f"Chromium ({check_chromium()})")
    results = run["results"]
    w1 = results["W1"]["ours"]
    assert w1["loads"] == QUICK.w1_loads
    assert w1["interactive"]["n"] == QUICK.w1_loads
    # The page, its scripts, its stylesheet and the API calls behind the vault list.
    assert w1["requests"] >= 6
    assert w1["kb"] > 50
    w2 = results["W2"]["ours"]
    assert w2["sources"] == QUICK.w2_sources
    assert 0 < w2["first_rows_ms"] <= w2["loaded_ms"]
    # It scrolled until the oldest source was on screen, with rows drawn on the way.
    assert w2["scroll"]["frames"] > 0
    assert 0 < w2["rows_kept"] <= QUICK.w2_sources
    w3 = results["W3"]["ours"]
    assert w3["to_dom"]["n"] == QUICK.w3_events
    assert 0 < w3["to_dom"]["p50"] <= w3["to_dom"]["max"]
