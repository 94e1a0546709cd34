"""Our server as the benchmark runs it: ``sourcevault serve`` itself, plus one route.

``python -m bench.serve serve --host H --port P`` runs the real ``serve`` command
(it listens first, then its migration check, its uvicorn options) on an app that also has
``POST /bench/fanout`` (fanout.py), imported, like the app, only once ``serve`` listens.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

    from sourcevault.config import Settings


def main() -> None:
    from sourcevault import cli

    build = cli.build_app

    def build_app(settings: Settings) -> FastAPI:
        from bench.fanout import add_fanout_route

        app = build(settings)
        add_fanout_route(app)
        return app

    cli.build_app = build_app  # ``serve`` calls it once it listens and is migrated
    cli.main()


if __name__ == "__main__":
    main()
