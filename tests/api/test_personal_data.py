"""Raw phone numbers and emails never appear in an answer or in the logs."""

from __future__ import annotations

import logging

from tests.api.helpers import ids

PHONE, PHONE_SPACED, EMAIL = "13800138000", "+86 138 0013 8000", "Ann.Lee@Example.com"
RAW = (PHONE, "8613800138000", "138 0013 8000", EMAIL, EMAIL.lower(), "Ann.Lee", "ann.lee",
       "13912345", "not-an-email.example.com")  # fmt: skip


def test_raw_phone_numbers_and_emails_never_leave_the_service(client, auth, stranger, caplog):
    caplog.set_level(logging.DEBUG)
    answers = []

    def call(method, path, body=None, headers=auth):  # type: ignore[no-untyped-def]
        response = getattr(client, method)(path, json=body, headers=headers)
        answers.append(response.get_data(as_text=True))
        return response

    first = ids(f"phone:{PHONE}", f"email:{EMAIL}", "login_id@app:A")
    created = call("post", "/v1/identify", {"identifiers": first, "traits": {"level": 1}})
    person = created.get_json()["person_id"]
    second = ids(f"phone:{PHONE_SPACED}", "login_id@app:B", f"email:{EMAIL}")
    call("post", "/v1/identify", {"identifiers": second})
    invalid = ids("phone:13912345", "email:not-an-email.example.com")
    call("post", "/v1/identify", {"identifiers": invalid})
    misplaced = ids("phone:13912345", f"mail:{EMAIL}", f"phone@app:{PHONE}")
    call("post", "/v1/identify", {"identifiers": misplaced})
    items = [
        {"identifiers": ids(f"phone:{PHONE}")},
        {"identifiers": ids("email:not-an-email.example.com")},
        {"identifiers": ids(f"email:{EMAIL}"), "colour": "x"},
    ]
    call("post", "/v1/identify/batch", {"observations": items})
    resolved = call("post", "/v1/resolve", {"identifiers": ids(f"phone:{PHONE_SPACED}")})
    call("post", "/v1/resolve", {"identifiers": ids("phone:13912345")})
    call("post", "/v1/resolve", {"identifiers": ids(f"email:{EMAIL}")}, headers=stranger)
    profile = call("get", f"/v1/persons/{person}")

    assert resolved.get_json()["person_id"] == person
    assert {i["kind"] for i in profile.get_json()["identifiers"]} >= {"phone", "email"}
    logs = caplog.text + " ".join(str(r.args) for r in caplog.records)
    for raw in RAW:
        for answer in answers:
            assert raw not in answer, f"{raw!r} in an answer: {answer}"
        assert raw not in logs, f"{raw!r} in the logs"
