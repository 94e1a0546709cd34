"""What the benchmark's report says about its picture, without running a benchmark."""

from __future__ import annotations

from pathlib import Path

from bench import report


def test_a_run_without_latency_samples_says_so_rather_than_blaming_matplotlib(
    tmp_path: Path,
) -> None:
    """``--only B6,B7`` runs scenarios that have no latency distribution: there is nothing to
    draw, whether or not matplotlib is installed, and the reason given says that."""
    png = tmp_path / "bench.png"
    results = {
        "B6": {"ours": {"caught_up_s": 1.4, "complete": True}, "reference": {"complete": True}},
        "B7": {"ours": {"sqlite": {"per_s": 340.0}}, "reference": {"memory": {"per_s": 570.0}}},
    }
    reason = report.draw(png, results)
    assert reason == "none of the scenarios run has a latency distribution"
    assert not png.exists()


def test_the_installed_package_carries_no_benchmark() -> None:
    """The harness lives beside the product: ``sourcevault`` has no ``bench`` module and its
    command no ``bench`` subcommand (``make bench`` runs ``python -m bench`` from a checkout)."""
    import importlib.util

    from typer.testing import CliRunner

    from sourcevault.cli import app

    try:
        harness = importlib.util.find_spec("sourcevault.bench.runner")
    except ModuleNotFoundError:  # no sourcevault.bench at all
        harness = None
    assert harness is None
    answer = CliRunner().invoke(app, ["bench", "--quick"])
    assert answer.exit_code == 2
    assert "No such command 'bench'" in answer.output


def test_targets_are_ratios_to_the_reference_of_the_same_run() -> None:
    """The same absolute figure passes or fails with the reference beside it: B1's p99 of 9 ms
    is met beside a reference at 10 ms and not beside one at 8 ms; a higher-is-better target
    (B4's connections/s) reads the other way."""

    def judged(results: dict[str, object]) -> dict[str, bool | None]:
        return {f"{r.scenario} {r.label}": r.met for r in report.rows(results)}

    def sides(ours: dict[str, object], reference: dict[str, object]) -> dict[str, object]:
        return {"ours": ours, "reference": reference}

    fast_ref = judged({"B1": sides({"delivery": {"p99": 9.0}}, {"delivery": {"p99": 8.0}})})
    slow_ref = judged({"B1": sides({"delivery": {"p99": 9.0}}, {"delivery": {"p99": 10.0}})})
    assert fast_ref["B1 commit-to-delivery p99"] is False
    assert slow_ref["B1 commit-to-delivery p99"] is True
    b4 = judged({"B4": sides({"accepted_per_s": 900.0}, {"accepted_per_s": 1000.0})})
    assert b4["B4 connections accepted/s"] is False
    alone = judged({"B1": {"ours": {"delivery": {"p99": 1.0}}}})
    assert alone["B1 commit-to-delivery p99"] is None
