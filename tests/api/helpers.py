"""What every API test checks: the shape of a problem, identifiers in request form."""

from __future__ import annotations

from typing import Any


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    """An RFC 9457 problem with the given status; returns its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == "application/problem+json"
    body: dict[str, Any] = response.get_json(force=True)
    assert {"type", "title", "status", "detail"} <= set(body)
    assert body["status"] == status
    assert body["type"].startswith("urn:databank:problem:")
    return body


def ids(*texts: str) -> list[dict[str, str]]:
    """``ids("login_id@app:A")`` -> ``[{"kind": "login_id", "scope": "app", "value": "A"}]``."""
    out = []
    for text in texts:
        head, _, value = text.partition(":")
        kind, _, scope = head.partition("@")
        out.append({"kind": kind, "value": value, **({"scope": scope} if scope else {})})
    return out
