"""The import graph of the package: the domain at the centre, the edges around it, no cycle.

The contracts are in ``.importlinter`` at the root of the repository; these tests run them as
``lint-imports`` does, check that every module is placed on one side of them, and look for
import cycles between modules, ``TYPE_CHECKING`` imports and imports inside functions
included.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import grimp
from importlinter.api import read_configuration

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / ".importlinter"


def graph() -> grimp.ImportGraph:
    return grimp.build_graph("sourcevault", cache_dir=None)


def test_the_import_contracts_hold() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(  # run in the root, where it finds .importlinter
        [str(lint_imports), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def _matches(expression: str, module: str) -> bool:
    """Whether ``module`` is ``expression`` or inside it, as import-linter reads a module
    expression (``*`` one name, ``**`` any number of them)."""
    parts = []
    for name in expression.split("."):
        parts.append({"*": r"[^.]+", "**": r"[^.]+(\.[^.]+)*"}.get(name, re.escape(name)))
    return re.fullmatch(r"\.".join(parts) + r"(\..+)?", module) is not None


def test_every_module_is_on_one_side_of_the_domain_contract() -> None:
    """A new module must be placed: domain and data (may not import an edge) or edge."""
    contract = next(
        c for c in read_configuration(str(CONFIG))["contracts_options"] if c["id"] == "domain"
    )
    domain = contract["source_modules"]
    edges = contract["forbidden_modules"]
    imports = graph()
    packages = {m for m in imports.modules if imports.find_children(m)}
    unplaced, both = [], []
    for module in sorted(imports.modules - packages):
        sides = [any(_matches(e, module) for e in side) for side in (domain, edges)]
        if not any(sides):
            unplaced.append(module)
        elif all(sides):
            both.append(module)
    assert not unplaced, f"not placed in .importlinter's domain contract: {unplaced}"
    assert not both, f"placed on both sides of .importlinter's domain contract: {both}"


def _cycles(imports: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in sorted(imports.find_modules_directly_imported_by(module)):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(imports.modules):
        if module not in index:
            visit(module)
    return found


def test_no_module_imports_itself_through_others() -> None:
    imports = graph()
    cycles = _cycles(imports)
    chains = []
    for group in cycles:
        first, second = group[0], group[1]
        there = imports.find_shortest_chain(first, second) or ()
        back = imports.find_shortest_chain(second, first) or ()
        chains.append(" -> ".join([*there, *back[1:]]))
    assert not cycles, "import cycles:\n" + "\n".join(chains)
