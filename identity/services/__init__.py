"""Use cases: plain functions over a :class:`~identity.store.uow.Store` and a workspace."""
