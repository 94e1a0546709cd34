"""The index listeners are installed whichever module a program imports first."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHECK = (
    "from sqlalchemy import event; from sourcevault.sources.models import Source; "
    "from sourcevault.search.index import _inserted, _updated; "
    "assert event.contains(Source, 'after_insert', _inserted); "
    "assert event.contains(Source, 'after_update', _updated)"
)


@pytest.mark.parametrize(
    "first",
    ["sourcevault.search.index", "sourcevault.search.service", "sourcevault.sources.models"],
)
def test_the_index_is_installed_whatever_is_imported_first(first: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", f"import {first}; {CHECK}"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
