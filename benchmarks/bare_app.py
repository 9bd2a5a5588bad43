"""The baseline of ``http_bench.py``: a bare Flask app with one trivial JSON POST view.

It reads the JSON body and answers a constant of the size of a resolve answer, served
by exactly the gunicorn settings of ``databank serve`` (``api.cli.run_gunicorn``):

    PYTHONPATH=. python benchmarks/bare_app.py --port 8001
"""

from __future__ import annotations

from typing import Any

import click
from flask import Flask, request

from api.cli import DEFAULT_THREADS, DEFAULT_WORKERS, run_gunicorn

ANSWER = {"person_id": "p_01JD2V8Z4K3M5N6P7Q8R9S0T1V",
          "matched": {"kind": "login_id", "scope": "app", "value": "u-1"}}  # fmt: skip


def create_bare_app() -> Flask:
    app = Flask(__name__)

    @app.post("/bare")
    def bare() -> dict[str, Any]:
        request.get_json()
        return ANSWER

    return app


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8001, show_default=True)
@click.option("--workers", default=DEFAULT_WORKERS, show_default=True)
@click.option("--threads", default=DEFAULT_THREADS, show_default=True)
def main(host: str, port: int, workers: int, threads: int) -> None:
    """Serve the bare baseline app."""
    run_gunicorn(create_bare_app, host, port, workers, threads)


if __name__ == "__main__":
    main()
