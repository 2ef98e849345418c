"""Roles: the Ops view's route is for the operators group, Analytics for the analysts group; the local
issuer's tokens name both."""

from __future__ import annotations

import jwt
from fastapi.testclient import TestClient

from aiorch.settings import Settings
from lambdas.api.app import create_app
from lambdas.api.auth import ANALYSTS_GROUP, GROUPS_CLAIM, OPERATORS_GROUP, LocalIssuer
from tests.unit.api.test_routes import assert_problem, submit


def bearer(issuer: LocalIssuer, user: str, groups: tuple[str, ...]) -> dict[str, str]:
    return {"Authorization": f"Bearer {issuer.issue(user, groups=groups)}"}


def test_the_ops_route_refuses_a_token_without_the_operators_group(client, settings, upload, photo_png) -> None:
    issuer = LocalIssuer(settings)
    viewer = bearer(issuer, "carol", (ANALYSTS_GROUP,))
    execution = submit(client, viewer, upload(viewer, photo_png)).json()["execution_id"]

    refused = assert_problem(client.get(f"/image-ai-analysis/{execution}/events", headers=viewer), 403)
    assert refused["detail"].startswith("the Ops view is for operators")
    # The same user, now an operator, reads the same execution's history.
    operator = bearer(issuer, "carol", (OPERATORS_GROUP,))
    answered = client.get(f"/image-ai-analysis/{execution}/events", headers=operator)
    assert answered.status_code == 200 and answered.json()["events"]
    # Without the group the user's own runs are still theirs: only the Ops view is closed.
    assert client.get(f"/image-ai-analysis/{execution}", headers=viewer).status_code == 200


def test_a_malformed_groups_claim_is_no_membership(client, settings) -> None:
    issuer = LocalIssuer(settings)
    token = jwt.decode(issuer.issue("dave"), options={"verify_signature": False})
    token[GROUPS_CLAIM] = "operators"  # a string, not a list: never read letter by letter as groups
    signed = jwt.encode(token, issuer.private_key, algorithm="RS256", headers={"kid": issuer.jwk()["kid"]})
    response = client.get(
        "/image-ai-analysis/01ARZ3NDEKTSV4RRFFQ69G5FAV/events", headers={"Authorization": f"Bearer {signed}"}
    )
    assert_problem(response, 403, "the Ops view is for operators")


def test_analytics_refuse_a_token_without_the_analysts_group(settings: Settings, service) -> None:
    guarded = settings.model_copy(update={"auth_analysts_group": ANALYSTS_GROUP})
    client = TestClient(create_app(guarded, service), base_url="http://127.0.0.1:8000")
    issuer = LocalIssuer(guarded)
    assert_problem(client.get("/analytics/queries", headers=bearer(issuer, "erin", (OPERATORS_GROUP,))), 403)
    assert client.get("/analytics/queries", headers=bearer(issuer, "erin", (ANALYSTS_GROUP,))).status_code == 200


def test_the_local_user_is_an_operator_and_an_analyst(client, settings) -> None:
    # What automatic sign-in (and a paired phone) gets: both views open.
    tokens = client.get("/authorize").json()
    for token in (tokens["access_token"], tokens["id_token"]):
        claims = jwt.decode(token, options={"verify_signature": False})
        assert sorted(claims[GROUPS_CLAIM]) == sorted([OPERATORS_GROUP, ANALYSTS_GROUP])
