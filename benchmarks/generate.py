"""Write synthetic channel exports (see ``identity.synthetic``).

    python benchmarks/generate.py --rows 1000000 --seed 7 --out var/exports
    python benchmarks/generate.py --rows 20000 --format jsonl --out var/exports
    python benchmarks/generate.py --rows 1000000 --export app_login --out var/bench

``--format csv`` writes one ``<export>.csv`` per export, ``jsonl`` one mixed
``observations.jsonl`` of ``POST /v1/identify`` bodies, ``both`` both; ``--rows`` counts
the rows of all exports together (of each format).
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from identity.synthetic import EXPORTS, write_csv, write_jsonl


@click.command()
@click.option("--rows", type=int, default=100_000, show_default=True, help="Rows in all.")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("var/exports"),
              show_default=True)  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl", "both"]), default="csv",
              show_default=True)  # fmt: skip
@click.option("--export", "kinds", multiple=True, type=click.Choice(EXPORTS),
              help="Only these exports (repeatable); all by default.")  # fmt: skip
def main(rows: int, seed: int, out_dir: Path, fmt: str, kinds: tuple[str, ...]) -> None:
    """Write ROWS rows of synthetic channel exports into OUT."""
    options = {"kinds": kinds or EXPORTS}
    started = time.perf_counter()
    written: list[Path] = []
    if fmt in ("csv", "both"):
        written.extend(write_csv(out_dir, rows, seed, **options).values())
    if fmt in ("jsonl", "both"):
        written.append(write_jsonl(out_dir / "observations.jsonl", rows, seed, **options))
    for path in written:
        click.echo(f"{path}  {path.stat().st_size / 1e6:.1f} MB")
    click.echo(f"{rows:,} rows in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
