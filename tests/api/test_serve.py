"""``databank serve``: what each gunicorn worker does once it has built the app."""

from __future__ import annotations

import gc

from api.cli import built_and_frozen


def test_a_worker_freezes_what_it_built_out_of_the_collectors_sweeps():
    before = gc.get_freeze_count()
    built: list[object] = [object()]
    try:
        app = built_and_frozen(lambda: built)
        assert app is built
        assert gc.get_freeze_count() > before
        assert not any(o is built for o in gc.get_objects())  # a full sweep skips it
    finally:
        gc.unfreeze()
