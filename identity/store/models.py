"""Typed SQLAlchemy 2.0 models: the schema that the Alembic migrations create."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "ApiKey",
    "Base",
    "Contested",
    "History",
    "Hold",
    "IdentifierRow",
    "Import",
    "ImportReject",
    "Link",
    "Message",
    "Person",
    "PersonChannel",
    "PersonTag",
    "PersonTrait",
    "Suppression",
    "Workspace",
    "table",
]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only gives a rowid alias to INTEGER PRIMARY KEY, not BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")
Document = JSON().with_variant(JSONB(), "postgresql")
PERSON_ID = String(40)


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC on every backend, read back as aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # raw SQL on SQLite
            value = datetime.fromisoformat(value)
        return cast(datetime, value).replace(tzinfo=UTC)


def table(model: type[Base]) -> Table:
    """The Core table of a model, typed for Core statements."""
    return cast(Table, model.__table__)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: Document}


def _workspace_fk() -> Mapped[int]:
    return mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))


def _person_fk(**kwargs: Any) -> Mapped[str]:
    return mapped_column(PERSON_ID, ForeignKey("persons.id", ondelete="CASCADE"), **kwargs)


class Workspace(Base):
    __tablename__ = "workspaces"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    policy: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = _workspace_fk()
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class Person(Base):
    __tablename__ = "persons"

    id: Mapped[str] = mapped_column(PERSON_ID, primary_key=True)
    workspace_id: Mapped[int] = _workspace_fk()
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # An absorbed person stays as an alias that points straight at its survivor.
    merged_into: Mapped[str | None] = mapped_column(PERSON_ID, index=True)
    merged_at: Mapped[datetime | None]
    activity: Mapped[list[int]] = mapped_column(JSON)
    # The person's channels, sorted, as a JSON array: overlap counts live persons per set.
    channel_set: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_persons_workspace_created", "workspace_id", "created_at"),
        Index("ix_persons_channel_set", "workspace_id", "channel_set",
              sqlite_where=text("merged_into IS NULL"),
              postgresql_where=text("merged_into IS NULL")),
    )  # fmt: skip


class IdentifierRow(Base):
    __tablename__ = "identifiers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = _workspace_fk()
    kind: Mapped[str] = mapped_column(String(40))
    scope: Mapped[str] = mapped_column(String(100))
    value: Mapped[str] = mapped_column(String(255))
    person_id: Mapped[str] = _person_fk(index=True)
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("workspace_id", "kind", "scope", "value", name="uq_identifiers_key"),
    )


class Link(Base):
    __tablename__ = "links"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = _workspace_fk()
    source_id: Mapped[int] = mapped_column(ForeignKey("identifiers.id", ondelete="CASCADE"))
    target_id: Mapped[int] = mapped_column(
        ForeignKey("identifiers.id", ondelete="CASCADE"), index=True
    )
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    count: Mapped[int]
    channels: Mapped[list[str]] = mapped_column(JSON)
    first_message_id: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (UniqueConstraint("source_id", "target_id", name="uq_links_pair"),)


class PersonTrait(Base):
    __tablename__ = "person_traits"

    person_id: Mapped[str] = _person_fk(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    workspace_id: Mapped[int] = _workspace_fk()
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    # The value as text, so an audience query can use an index.
    value_text: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[datetime]
    source: Mapped[str | None] = mapped_column(String(100))

    # Audience pages walk these in person-id order (migration 0002_insights).
    __table_args__ = (
        Index("ix_person_traits_audience", "workspace_id", "name", "value_text", "person_id"),
    )


class PersonTag(Base):
    __tablename__ = "person_tags"

    person_id: Mapped[str] = _person_fk(primary_key=True)
    tag: Mapped[str] = mapped_column(String(100), primary_key=True)
    workspace_id: Mapped[int] = _workspace_fk()
    count: Mapped[int]
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]

    __table_args__ = (Index("ix_person_tags_audience", "workspace_id", "tag", "person_id"),)


class PersonChannel(Base):
    __tablename__ = "person_channels"

    person_id: Mapped[str] = _person_fk(primary_key=True)
    channel: Mapped[str] = mapped_column(String(100), primary_key=True)
    workspace_id: Mapped[int] = _workspace_fk()
    count: Mapped[int]
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]

    __table_args__ = (
        Index("ix_person_channels_lookup", "workspace_id", "channel", "last_seen"),
        Index("ix_person_channels_audience", "workspace_id", "channel", "person_id", "last_seen"),
    )


class Hold(Base):
    """Two persons an operator split apart: observations may not re-join them."""

    __tablename__ = "holds"

    person_a: Mapped[str] = _person_fk(primary_key=True)
    person_b: Mapped[str] = _person_fk(primary_key=True, index=True)
    workspace_id: Mapped[int] = _workspace_fk()
    created_at: Mapped[datetime]


class History(Base):
    __tablename__ = "history"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = _workspace_fk()
    person_id: Mapped[str] = mapped_column(PERSON_ID)
    at: Mapped[datetime]
    action: Mapped[str] = mapped_column(String(20))
    trigger: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None]

    __table_args__ = (Index("ix_history_person", "workspace_id", "person_id", "id"),)


class Message(Base):
    """The first answer to each message id, returned again for a repeat."""

    __tablename__ = "messages"

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    message_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    response: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class Suppression(Base):
    """A keyed hash of an erased identifier; re-sent data of it is ignored."""

    __tablename__ = "suppressions"

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime]


class Contested(Base):
    """Values that observations tried to share: junk candidates for the quality report."""

    __tablename__ = "contested"

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    scope: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(String(255), primary_key=True)
    reason: Mapped[str] = mapped_column(String(20), primary_key=True)
    count: Mapped[int]
    last_at: Mapped[datetime]


class Import(Base):
    __tablename__ = "imports"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[int] = _workspace_fk()
    filename: Mapped[str] = mapped_column(String(255))
    path: Mapped[str] = mapped_column(Text)
    format: Mapped[str] = mapped_column(String(10))
    mapping: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(20), index=True)
    rows_done: Mapped[int] = mapped_column(default=0)
    checkpoint: Mapped[dict[str, Any] | None]
    counts: Mapped[dict[str, Any]]
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    sha256: Mapped[str | None] = mapped_column(String(64))
    duplicate_of: Mapped[str | None] = mapped_column(String(40))
    claimed_by: Mapped[str | None] = mapped_column(String(40))
    chunk_rows: Mapped[int | None]
    owns_file: Mapped[bool] = mapped_column(default=False, server_default=false())

    __table_args__ = (Index("ix_imports_file", "workspace_id", "sha256"),)


class ImportReject(Base):
    __tablename__ = "import_rejects"

    import_id: Mapped[str] = mapped_column(
        ForeignKey("imports.id", ondelete="CASCADE"), primary_key=True
    )
    line: Mapped[int] = mapped_column(primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
