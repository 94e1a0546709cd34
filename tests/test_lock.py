"""The lock files install what pyproject.toml asks for: every requirement pinned to one exact
version that satisfies it, with hashes, and the runtime lock agreeing with the dev lock.

A dependency added to pyproject.toml without ``make lock`` fails here, not on the next fresh
machine, where ``pip install --require-hashes`` would refuse it or leave it out."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


@dataclass(frozen=True)
class Pin:
    requirement: Requirement
    hashes: tuple[str, ...]

    @property
    def version(self) -> Version:
        [spec] = self.requirement.specifier
        return Version(spec.version)


def read_lock(name: str) -> list[Pin]:
    """The pins of a lock file written by ``make lock`` (requirements format, one pin a block)."""
    pins: list[Pin] = []
    for block in re.split(r"\n(?=\S)", (ROOT / name).read_text()):
        if block.startswith("#") or not block.strip():
            continue
        head, *rest = block.split("\\\n")
        hashes = re.findall(r"--hash=(sha256:[0-9a-f]{64})", "".join(rest))
        pins.append(Pin(Requirement(head.strip()), tuple(hashes)))
    return pins


def here(pins: list[Pin]) -> dict[str, Pin]:
    """The pins that apply to this interpreter, by normalized name (a universal lock holds one
    pin per package and environment: numpy for Python 3.11 and another for 3.12, say)."""
    env = default_environment()
    chosen: dict[str, Pin] = {}
    for pin in pins:
        marker = pin.requirement.marker
        if marker is None or marker.evaluate(env):
            name = canonicalize_name(pin.requirement.name)
            assert name not in chosen, f"{name} is pinned twice for this interpreter"
            chosen[name] = pin
    return chosen


def wanted(*, dev: bool) -> list[Requirement]:
    project = PYPROJECT["project"]
    lines = list(project["dependencies"])
    if dev:
        lines += project["optional-dependencies"]["dev"]
        for group in PYPROJECT["dependency-groups"].values():
            lines += group
    return [Requirement(line) for line in lines]


@pytest.mark.parametrize(
    ("lock", "dev"), [("requirements.lock", False), ("requirements-dev.lock", True)]
)
def test_every_requirement_is_pinned_to_a_version_that_satisfies_it(lock: str, dev: bool) -> None:
    pins = read_lock(lock)
    for pin in pins:
        assert str(pin.requirement.specifier).startswith("=="), pin.requirement
        assert pin.hashes, f"{pin.requirement} has no hash"
    installed = here(pins)
    env = default_environment()
    for requirement in wanted(dev=dev):
        if requirement.marker is not None and not requirement.marker.evaluate(env):
            continue
        pin = installed.get(canonicalize_name(requirement.name))
        assert pin is not None, f"{requirement} is not in {lock}: run make lock"
        assert requirement.specifier.contains(pin.version, prereleases=True), (
            f"{lock} pins {pin.requirement} but pyproject.toml asks for {requirement}: "
            "run make lock"
        )


def test_the_runtime_lock_pins_what_the_dev_lock_pins() -> None:
    """``make run`` and ``make test`` install the dev lock and a deployment the runtime lock:
    both run the same versions of what they share."""
    dev = {
        (canonicalize_name(p.requirement.name), str(p.requirement.marker)): p
        for p in read_lock("requirements-dev.lock")
    }
    for pin in read_lock("requirements.lock"):
        key = (canonicalize_name(pin.requirement.name), str(pin.requirement.marker))
        assert key in dev, f"{pin.requirement} is in requirements.lock only"
        assert dev[key].version == pin.version, (pin.requirement, dev[key].requirement)
        assert set(pin.hashes) == set(dev[key].hashes), pin.requirement


def test_the_supported_pythons_are_bounded_and_include_this_one() -> None:
    supported = Requirement(f"python{PYPROJECT['project']['requires-python']}").specifier
    assert any(spec.operator == "<" for spec in supported), "requires-python needs an upper bound"
    assert supported.contains(default_environment()["python_full_version"])
