"""Batch imports of channel exports (SPEC section 7).

The parts: ``rows`` (what a reader hands the engine and what the engine hands back),
``engine`` (applies a chunk of rows inside one unit of work, exactly as identifying them
one by one would). Readers, mappings, presets and the job runner build on these.
"""
