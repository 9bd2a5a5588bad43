"""Identifiers: ``(kind, scope, value)``, written ``kind@scope:value`` or ``kind:value``."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Identifier", "parse_identifier"]


@dataclass(frozen=True, order=True, slots=True)
class Identifier:
    """One identifier of a person.

    >>> str(Identifier("wechat_openid", "wx123", "o-abc"))
    'wechat_openid@wx123:o-abc'
    >>> str(Identifier("idfa", "", "6D92078A-8246-4BA4-AE5B-76104861E7DC"))
    'idfa:6D92078A-8246-4BA4-AE5B-76104861E7DC'
    """

    kind: str
    scope: str
    value: str

    @property
    def group(self) -> tuple[str, str]:
        """The ``(kind, scope)`` that a kind's limit counts within."""
        return (self.kind, self.scope)

    def __str__(self) -> str:
        if self.scope:
            return f"{self.kind}@{self.scope}:{self.value}"
        return f"{self.kind}:{self.value}"


def parse_identifier(text: str) -> tuple[str, str, str]:
    """Split ``kind[@scope]:value`` into its raw parts (not yet normalised).

    >>> parse_identifier("wechat_openid@wx123:o-abc")
    ('wechat_openid', 'wx123', 'o-abc')
    >>> parse_identifier("phone:+86 138 0013 8000")
    ('phone', '', '+86 138 0013 8000')
    """
    head, sep, value = text.partition(":")
    if not sep or not head:
        raise ValueError("expected KIND[@SCOPE]:VALUE")
    kind, _, scope = head.partition("@")
    return kind, scope, value
