"""Property-based: malformed and random bodies never cause a 500 or a half-stored event."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import func
from sqlmodel import select

from crm.models import WebhookEvent
from tests.factories import Webhooks, line_signature

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
line_events = st.lists(st.one_of(
    json_values,
    st.fixed_dictionaries({"type": st.sampled_from(["message", "follow", "postback", "unsend", "weird"]),
                           "webhookEventId": st.text(min_size=1, max_size=30)},
                          optional={"source": json_values, "message": json_values, "timestamp": json_values,
                                    "replyToken": json_values}),
), max_size=3)


def count(session) -> int:
    session.expire_all()
    return session.exec(select(func.count()).select_from(WebhookEvent)).one()


@FUZZ
@given(body=st.binary(max_size=300), signature=st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=50))
def test_line_random_bytes_and_signatures(client, session, body, signature):
    before = count(session)
    response = Webhooks(client).line(body=body, signature=signature)
    assert response.status_code in (400, 415)
    assert count(session) == before


@FUZZ
@given(payload=st.one_of(json_values, st.fixed_dictionaries({"events": line_events})))
def test_line_signed_random_json_is_never_a_500(client, session, payload):
    body = json.dumps(payload).encode()
    before = count(session)
    response = Webhooks(client).line(body=body, signature=line_signature(body))
    assert response.status_code in (200, 400), response.get_data(as_text=True)
    if response.status_code != 200:
        assert count(session) == before


@FUZZ
@given(body=st.binary(max_size=300))
def test_telegram_random_bytes(client, session, body):
    before = count(session)
    response = Webhooks(client).telegram(body=body)
    assert response.status_code in (200, 400)
    if response.status_code != 200:
        assert count(session) == before


@FUZZ
@given(payload=st.one_of(json_values, st.fixed_dictionaries(
    {"update_id": st.integers(min_value=-(2**63), max_value=2**63 - 1)},
    optional={"message": json_values, "callback_query": json_values, "my_chat_member": json_values})))
def test_telegram_random_json_is_never_a_500(client, session, payload):
    before = count(session)
    response = Webhooks(client).telegram(body=json.dumps(payload).encode())
    assert response.status_code in (200, 400), response.get_data(as_text=True)
    if response.status_code != 200:
        assert count(session) == before
