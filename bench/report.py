"""The figures of a run: summaries, the table (ours, the reference, the ratio, the target),
the JSON file and the PNG of the latency distributions."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation between closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarize(values: Sequence[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p99": percentile(values, 99),
        "max": max(values) if values else math.nan,
    }


@dataclass(frozen=True)
class Row:
    scenario: str
    label: str
    unit: str
    ours: float | None
    reference: float | None
    better: str  # "lower" or "higher"
    target: str = ""  # e.g. "<= 8", ">= 1.0x reference"
    met: bool | None = None
    against: str = "reference"  # what ``reference`` is: the Node reference, or B7's "floor"

    @property
    def ratio(self) -> float | None:
        if self.ours is None or self.reference is None or self.reference == 0:
            return None
        return self.ours / self.reference


def _get(results: dict[str, Any], *path: str) -> float | None:
    node: Any = results
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    if isinstance(node, bool | int | float) and not (isinstance(node, float) and math.isnan(node)):
        return float(node)
    return None


@dataclass(frozen=True)
class Metric:
    scenario: str
    label: str
    unit: str
    path: tuple[str, ...]  # inside our side's results
    better: str
    # "<=" / ">=": ours against an absolute limit (scenarios with no reference);
    # "x<=" / "x>=": ours against limit x the reference measured in the same run.
    op: str = ""
    limit: float | None = None
    ref_path: tuple[str, ...] | None = None  # inside the reference's, when it differs
    # "reference": the Node reference's results; "floor": B7's floor, inside our side's results
    # (``ref_path`` then starts at our side's top).
    against: str = "reference"


def _m(scenario: str, label: str, unit: str, path: str, better: str, **kw: Any) -> Metric:
    ref = kw.pop("ref", None)
    return Metric(
        scenario,
        label,
        unit,
        tuple(path.split(".")),
        better,
        ref_path=ref and tuple(ref.split(".")),
        **kw,
    )


def _b7(label: str, db: str, path: str, ref: str, unit: str, better: str, **kw: Any) -> Metric:
    """A B7 figure of ``db`` beside the floor measured on that database in the same run."""
    return _m(
        "B7", label, unit, f"{db}.{path}", better, ref=f"{db}.floor.{ref}", against="floor", **kw
    )


LOW, HIGH = "lower", "higher"
METRICS = [
    _m("B1", "commit-to-delivery p50", "ms", "delivery.p50", LOW),
    _m("B1", "commit-to-delivery p99", "ms", "delivery.p99", LOW, op="x<=", limit=1.0),
    _m("B1", "commit-to-delivery max", "ms", "delivery.max", LOW),
    _m("B1", "REST call to last delivery p50", "ms", "rest_to_last.p50", LOW),
    _m("B1", "REST call to last delivery p99", "ms", "rest_to_last.p99", LOW),
    _m("B1", "REST call to last delivery max", "ms", "rest_to_last.max", LOW),
    _m("B1", "complete (every client got every event)", "", "complete", HIGH),
    _m("B2", "last receiver p50", "ms", "last_receiver.p50", LOW),
    _m("B2", "last receiver p99", "ms", "last_receiver.p99", LOW, op="x<=", limit=1.0),
    _m("B2", "complete", "", "complete", HIGH),
    _m("B3", "delivered events/s", "msg/s", "delivered_per_s", HIGH, op="x>=", limit=1.0),
    _m("B3", "server CPU at that rate", "cores", "cpu", LOW),
    _m("B3", "server CPU per 1k deliveries", "ms", "cpu_ms_per_1k", LOW),
    _m("B3", "delivery p99 at that rate", "ms", "delivery.p99", LOW),
    _m("B3", "complete", "", "complete", HIGH),
    _m(
        "B4",
        "memory per idle joined connection",
        "KB",
        "kb_per_connection",
        LOW,
        op="x<=",
        limit=1.1,
    ),
    _m("B4", "connections accepted/s", "conn/s", "accepted_per_s", HIGH, op="x>=", limit=1.0),
    _m("B4", "joins/s", "join/s", "joins_per_s", HIGH, op="x>=", limit=1.0),
    _m("B4", "B1 at that load: delivery p50", "ms", "at_load.delivery.p50", LOW),
    _m("B4", "B1 at that load: delivery p99", "ms", "at_load.delivery.p99", LOW),
    _m("B4", "complete", "", "complete", HIGH),
    _m("B5", "refusal p50", "ms", "refusal.p50", LOW),
    _m("B5", "refusal p99", "ms", "refusal.p99", LOW, op="x<=", limit=1.0),
    _m("B5", "all refused with UNAUTHORIZED", "", "complete", HIGH),
    _m("B6", "restart to all back and caught up", "s", "caught_up_s", LOW, op="x<=", limit=1.0),
    _m("B6", "restart to server answering", "s", "ready_s", LOW),
    _m("B6", "complete", "", "complete", HIGH),
    *(
        metric
        for db, name in (("sqlite", "SQLite"), ("postgres", "PostgreSQL"))
        for metric in (
            _b7(
                f"REST creations/s, {name}",
                db,
                "per_s",
                "per_s",
                "req/s",
                HIGH,
                op="x>=",
                limit=0.5,
            ),
            _b7(
                f"socket creations/s, {name}",
                db,
                "socket.per_s",
                "per_s",
                "req/s",
                HIGH,
                op="x>=",
                limit=0.5,
            ),
            _b7(
                f"CPU per REST creation, {name}",
                db,
                "cpu_ms_per_creation",
                "cpu_ms_per_write",
                "ms",
                LOW,
            ),
            _b7(
                f"CPU per socket creation, {name}",
                db,
                "socket.cpu_ms_per_creation",
                "cpu_ms_per_write",
                "ms",
                LOW,
            ),
            _m(
                "B7",
                f"REST creations/s, {name}, beside Node",
                "req/s",
                f"{db}.per_s",
                HIGH,
                ref="memory.per_s",
            ),
        )
    ),
    _m("B7", "complete", "", "complete", HIGH),
    _m("B8", "last receiver p50", "ms", "last_receiver.p50", LOW),
    _m("B8", "last receiver p99", "ms", "last_receiver.p99", LOW, op="x<=", limit=1.0),
    _m(
        "B8",
        "delivered events/s, fan-out through one (as B3)",
        "msg/s",
        "capacity.delivered_per_s",
        HIGH,
        op="x>=",
        limit=1.0,
    ),
    _m("B8", "servers' CPU at that rate (both)", "cores", "capacity.cpu", LOW),
    _m("B8", "delivery p99 at that rate", "ms", "capacity.delivery.p99", LOW),
    _m("B8", "Redis messages decoded per event, per instance", "msg", "decoded_per_event", LOW),
    _m("B8", "complete", "", "complete", HIGH),
    _m("P1", "B1 delivery p99 without churn", "ms", "alone.delivery.p99", LOW),
    _m("P1", "B1 delivery p99 with presence churn", "ms", "churned.delivery.p99", LOW),
    _m("P1", "p99 with churn / without", "x", "p99_ratio", LOW, op="<=", limit=1.1),
    _m("P1", "complete", "", "complete", HIGH),
    _m("W1", "bytes received until interactive", "KB", "kb", LOW, op="<=", limit=300),
    _m("W1", "requests until interactive", "requests", "requests", LOW),
    _m("W1", "time to interactive p50", "ms", "interactive.p50", LOW, op="<=", limit=1000),
    _m("W1", "time to interactive max", "ms", "interactive.max", LOW),
    _m("W1", "click to its form in the DOM p50", "ms", "click_response.p50", LOW),
    _m("W1", "page main-thread CPU until interactive p50", "ms", "page_cpu.p50", LOW),
    _m("W1", "server CPU until interactive p50", "ms", "server_cpu.p50", LOW),
    _m("W1", "complete (no page error)", "", "complete", HIGH),
    _m("W2", "click to the first rows", "ms", "first_rows_ms", LOW, op="<=", limit=1000),
    _m("W2", "click to every source loaded", "ms", "loaded_ms", LOW),
    _m("W2", "longest task while loading", "ms", "long_tasks_while_loading.longest_ms", LOW),
    _m("W2", "page main-thread CPU while loading", "s", "page_cpu_loading_s", LOW),
    _m("W2", "page main-thread CPU while scrolling", "s", "page_cpu_scrolling_s", LOW),
    _m("W2", "scroll to the end", "s", "scroll.seconds", LOW),
    _m("W2", "scroll frame p50", "ms", "scroll.frame.p50", LOW),
    _m("W2", "scroll frame p99", "ms", "scroll.frame.p99", LOW, op="<=", limit=50),
    _m("W2", "frames over 50 ms", "frames", "scroll.long_frames", LOW),
    _m("W2", "source rows in the DOM at the end", "rows", "rows_kept", LOW),
    _m("W2", "complete (reached the oldest source, no page error)", "", "complete", HIGH),
    _m("W3", "event arrival to DOM p50", "ms", "to_dom.p50", LOW),
    _m("W3", "event arrival to DOM p99", "ms", "to_dom.p99", LOW, op="<=", limit=50),
    _m("W3", "event arrival to DOM max", "ms", "to_dom.max", LOW),
    _m("W3", "event arrival to next frame p99", "ms", "to_frame.p99", LOW),
    _m("W3", "commit to DOM p99", "ms", "commit_to_dom.p99", LOW),
    _m("W3", "page main-thread CPU per event", "ms", "page_cpu_ms_per_event", LOW),
    _m("W3", "server CPU per event", "ms", "server_cpu_ms_per_event", LOW),
    _m("W3", "complete (every event's row shown)", "", "complete", HIGH),
]


def _judge(m: Metric, ours: float | None, reference: float | None) -> tuple[str, bool | None]:
    """The target's wording and whether it was met (None: not judged, a side is missing)."""
    if not m.op or m.limit is None:
        return "", None
    if m.op.startswith("x"):
        target = f"{m.op[1:]} {m.limit:g}x {m.against}"
        if ours is None or reference is None:
            return target, None
        bound = m.limit * reference
    else:
        target = f"{m.op} {m.limit:g}"
        if ours is None:
            return target, None
        bound = m.limit
    return target, ours <= bound if m.op.endswith("<=") else ours >= bound


def rows(results: dict[str, Any]) -> list[Row]:
    out: list[Row] = []
    for m in METRICS:
        if m.scenario not in results:
            continue
        sides = results[m.scenario]
        ours = _get(sides, "ours", *m.path)
        ref_side = "ours" if m.against == "floor" else "reference"
        reference = _get(sides, ref_side, *(m.ref_path or m.path))
        if ours is None and reference is None:
            continue
        target, met = _judge(m, ours, reference)
        out.append(
            Row(m.scenario, m.label, m.unit, ours, reference, m.better, target, met, m.against)
        )
    return out


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "":
        return "yes" if value else "NO"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _reference(row: Row) -> str:
    """The reference column: the Node reference's figure, or B7's floor, said so."""
    shown = _fmt(row.reference, row.unit)
    return shown if row.against == "reference" or row.reference is None else f"{shown} floor"


def render(table_rows: list[Row], console: Console) -> None:
    table = Table(title="sourcevault beside Node socket.io 4.8", show_lines=False)
    for name, justify in (
        ("", "left"),
        ("metric", "left"),
        ("unit", "left"),
        ("ours", "right"),
        ("Node reference (B7: floor)", "right"),
        ("ours / ref", "right"),
        ("target", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in table_rows:
        ratio = "" if row.ratio is None or row.unit == "" else f"{row.ratio:.2f}x"
        target = row.target
        if row.met is not None:
            target = (
                f"{target} [{'green' if row.met else 'red'}]{'met' if row.met else 'not met'}[/]"
            )
        table.add_row(
            row.scenario,
            row.label,
            row.unit,
            _fmt(row.ours, row.unit),
            _reference(row),
            ratio,
            target,
        )
    console.print(table)


def markdown(table_rows: list[Row]) -> str:
    """The same table for BENCHMARKS.md."""
    lines = [
        "| | metric | unit | ours | Node reference (B7: floor) | ours / ref | target |",
        "|---|---|---|---:|---:|---:|---|",
    ]
    for row in table_rows:
        ratio = "" if row.ratio is None or row.unit == "" else f"{row.ratio:.2f}x"
        target = row.target + ("" if row.met is None else (" met" if row.met else " **not met**"))
        lines.append(
            f"| {row.scenario} | {row.label} | {row.unit} | {_fmt(row.ours, row.unit)} "
            f"| {_reference(row)} | {ratio} | {target} |"
        )
    return "\n".join(lines) + "\n"


def machine_markdown(document: dict[str, Any]) -> str:
    """Where and how a run was made, for BENCHMARKS.md."""
    m = document["machine"]
    python_packages = ", ".join(f"{k} {v}" for k, v in m["python_packages"].items())
    node_packages = ", ".join(f"{k} {v}" for k, v in m["node_packages"].items())
    pins = document["pinning"]
    load_before = " ".join(f"{x:.2f}" for x in m["load_average"])
    load_after = " ".join(f"{x:.2f}" for x in m["load_average_after"])
    return (
        "\n".join(
            [
                f"- command: `{document['command'].strip()}` ({document['seconds']:.0f} s)",
                f"- machine: {m['nproc']} cores ({m['cpu']}), {m['memory_gib']} GiB, "
                f"Linux {m['kernel']}",
                f"- load average (1, 5, 15 min) before: {load_before}; after: {load_after}",
                f"- servers pinned to cores {pins['server'] or 'none'}, load generators and the "
                f"orchestrator to {pins['clients'] or 'none'}",
                f"- Python {m['python']}: {python_packages}",
                f"- Node {m['node']}: {node_packages}",
            ]
        )
        + "\n"
    )


def write_json(path: Path, document: dict[str, Any], table_rows: list[Row]) -> None:
    document = {**document, "table": [asdict(r) | {"ratio": r.ratio} for r in table_rows]}
    path.write_bytes(
        orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY)
    )


# (scenario, title, path of the sample list inside a side's results)
DISTRIBUTIONS: list[tuple[str, str, tuple[str, ...]]] = [
    ("B1", "B1 commit-to-delivery, 100 clients", ("samples", "delivery")),
    ("B1", "B1 REST call to last delivery", ("samples", "rest_to_last")),
    ("B2", "B2 last receiver, 1,000 clients", ("samples", "last_receiver")),
    ("B3", "B3 delivery at the best sustained rate", ("samples", "delivery")),
    ("B4", "B4 B1 at 10k connections", ("at_load", "samples", "delivery")),
    ("B5", "B5 refusal of a bad token", ("samples", "refusal")),
    ("B8", "B8 last receiver, 2 instances over Redis", ("samples", "last_receiver")),
    ("W2", "W2 frame times scrolling 5,000 sources", ("samples", "frame")),
    ("W3", "W3 event arrival to DOM", ("samples", "to_dom")),
]


def draw(path: Path, results: dict[str, Any]) -> str | None:
    """Cumulative distributions, ours beside the reference, drawn to ``path``; None when drawn,
    else why not: none of the scenarios run has a distribution (B6 and B7 have none), or
    matplotlib is absent."""
    panels = []
    for scenario, title, sample_path in DISTRIBUTIONS:
        sides = results.get(scenario, {})
        series = {}
        for side in ("ours", "reference"):
            node: Any = sides.get(side, {})
            for key in sample_path:
                node = node.get(key, {}) if isinstance(node, dict) else {}
            if isinstance(node, list) and node:
                series[side] = sorted(float(v) for v in node)
        if series:
            panels.append((title, series))
    if not panels:
        return "none of the scenarios run has a latency distribution"
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed (make install installs it from requirements-dev.lock)"
    columns = 3
    rows_n = math.ceil(len(panels) / columns)
    fig, axes = plt.subplots(rows_n, columns, figsize=(5 * columns, 3.6 * rows_n), squeeze=False)
    for ax, (title, series) in zip(axes.flat, panels, strict=False):
        for side, values in series.items():
            n = len(values)
            ax.plot(
                [max(v, 0.01) for v in values],
                [(i + 1) / n for i in range(n)],
                label="ours" if side == "ours" else "Node socket.io",
                color="tab:blue" if side == "ours" else "tab:orange",
            )
        ax.set_xscale("log")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("ms")
        ax.set_ylabel("fraction")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None


METRICS += [
    _m("S1", "vault search p50, SQLite", "ms", "sqlite.vault.p50", LOW),
    _m("S1", "vault search p99, SQLite", "ms", "sqlite.vault.p99", LOW, op="<=", limit=50),
    _m("S1", "/api/search p50, SQLite", "ms", "sqlite.all.p50", LOW),
    _m("S1", "/api/search p99, SQLite", "ms", "sqlite.all.p99", LOW, op="<=", limit=50),
    _m("S1", "vault search p50, PostgreSQL", "ms", "postgres.vault.p50", LOW),
    _m("S1", "vault search p99, PostgreSQL", "ms", "postgres.vault.p99", LOW, op="<=", limit=50),
    _m("S1", "/api/search p50, PostgreSQL", "ms", "postgres.all.p50", LOW),
    _m("S1", "/api/search p99, PostgreSQL", "ms", "postgres.all.p99", LOW, op="<=", limit=50),
    _m("S1", "CPU per search (server + database), SQLite", "ms", "sqlite.cpu_ms_per_request", LOW),
    _m(
        "S1",
        "CPU per search (server + database), PostgreSQL",
        "ms",
        "postgres.cpu_ms_per_request",
        LOW,
    ),
    _m("I1", "50,000-entry import, SQLite", "s", "sqlite.seconds", LOW, op="<=", limit=10),
    _m("I1", "50,000-entry import, PostgreSQL", "s", "postgres.seconds", LOW, op="<=", limit=10),
    _m("I1", "CPU (server + database), SQLite", "s", "sqlite.cpu_seconds", LOW),
    _m("I1", "CPU (server + database), PostgreSQL", "s", "postgres.cpu_seconds", LOW),
    _m("I1", "complete", "", "complete", HIGH),
]
