"""The one build step beyond pyproject.toml: a built wheel carries what the installed package
needs from outside src/, so that it runs anywhere without the checkout:
- the npm files the pages load (sourcevault/web/vendor/), copied from node_modules, so the app
  and the test page are served without ``npm ci`` where it runs;
- the Alembic migrations (sourcevault/db/migrations/), so ``sourcevault db upgrade`` works.
An editable install copies nothing: it reads both from the checkout."""

from __future__ import annotations

import runpy
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
VENDOR_FILES = runpy.run_path(str(HERE / "src" / "sourcevault" / "web" / "vendor_files.py"))[
    "VENDOR_FILES"
]


class build_py_with_npm_files(build_py):  # noqa: N801  (setuptools names commands so)
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        # Anew each time: build/ outlives a build, and a stale copy would hide a missing file.
        target = Path(self.build_lib) / "sourcevault" / "web" / "vendor"
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for name, (package, inside, _media) in VENDOR_FILES.items():
            source = HERE / "node_modules" / package / inside
            if not source.is_file():
                raise SystemExit(
                    f"{source} is missing: run `npm ci` (or `make install`) before building a"
                    " wheel, so that it carries the scripts its pages load"
                )
            shutil.copyfile(source, target / name)
        migrations = Path(self.build_lib) / "sourcevault" / "db" / "migrations"
        shutil.rmtree(migrations, ignore_errors=True)
        shutil.copytree(
            HERE / "migrations", migrations, ignore=shutil.ignore_patterns("__pycache__")
        )


setup(cmdclass={"build_py": build_py_with_npm_files})
