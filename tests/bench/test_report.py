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
