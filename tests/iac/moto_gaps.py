"""Stand-ins for the APIs moto 5.2.5 answers with 500 (or, PublishFunction, 404), for the Terraform apply test only.

Loaded into the local states service through its dispatch file (``extra_hooks``): the
service calls ``register(events, settings)`` in its own process before its moto server
starts, which is the one place these answers can be changed. Nothing outside tests uses it.

- ``ValidateStateMachineDefinition``: the AWS provider validates the definition while
  planning; moto does not implement it. Answered OK: the definition is checked by
  statelint and by the states service itself (moto refuses a bad one at CreateStateMachine).
- ``ListStateMachineVersions``: read by the provider after creating a state machine; not
  implemented. Answered with no versions (Terraform publishes none).
- ``DeleteNamedQuery`` (Athena): called by ``terraform destroy``; not implemented. Deletes
  the query from moto's Athena backend, as AWS would.
- CreateComputeEnvironment without ``serviceRole`` (AWS then uses Batch's service-linked role,
  AWSServiceRoleForBatch): moto refuses it ("ServiceRole is required"). Answered as AWS does: the
  service-linked role is created in moto's IAM if missing and named as the environment's role.
- CloudFront response headers policies (the front end's CSP): no route (404). Created, read,
  updated and deleted here, each policy kept as the provider sent it.
- Emptying a versioned bucket whose keys carry delete markers (``terraform destroy`` with
  force_destroy, after the API deleted an execution's results): moto disposes of every version
  of a key it drops, and its delete marker has no ``dispose`` (AttributeError, 500), so the
  provider retried for ever. A delete marker holds no buffer: its dispose does nothing.

Action names: IAM matches them whatever their case; moto names a Batch action from its URL path
(``batch:listjobs``) and matched it case-sensitively against ``batch:ListJobs``, refusing what AWS
allows. Actions are matched here without regard to case (resources keep moto's exact match).

And one moto gap in policy conditions: moto fills in no request context (it knows nothing
of aws:SecureTransport, aws:SourceArn, s3:prefix, ...) and treats a condition on a key it
does not know as met. Under moto the buckets' "deny unless aws:SecureTransport" statement
therefore denied every request, including Terraform's upload of the Lambda package. AWS
always carries aws:SecureTransport, so there the statement denies only plain-HTTP requests.
Here a *Deny* statement whose condition names a key the request does not carry is skipped
(``...IfExists`` and ``Null`` excepted). Allow statements are left to moto: an earlier
version skipped those too, which turned the roles' prefix-scoped ``s3:ListBucket`` (condition
on ``s3:prefix``, a key AWS does fill in) into AccessDenied. Under moto such an Allow
therefore holds for every prefix: the prefix scoping itself is not checked here.
"""

from __future__ import annotations

import json
from typing import Any


def _validate_state_machine_definition(self: Any) -> str:
    return json.dumps({"result": "OK", "diagnostics": []})


def _list_state_machine_versions(self: Any) -> str:
    return json.dumps({"stateMachineVersions": []})


def _delete_named_query(self: Any) -> str:
    self.athena_backend.named_queries.pop(self._get_param("NamedQueryId"), None)
    return json.dumps({})


def _publish_function(self: Any) -> Any:
    from moto.core.responses import ActionResult

    function = self.backend.describe_function(name=self._get_param("Name"))
    function.stage = "LIVE"
    return ActionResult({"FunctionSummary": function.function_summary, "ETag": function.etag})


def _deny_applies_only_when_its_condition_holds() -> None:
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult

    moto_is_action_permitted = IAMPolicyStatement.is_action_permitted

    def is_action_permitted(
        self: Any,
        action: str,
        resource: str = "*",
        principal: str | None = None,
        incoming_condition_values: dict[str, str] | None = None,
    ) -> Any:
        if self._statement.get("Effect") != "Deny":
            return moto_is_action_permitted(self, action, resource, principal, incoming_condition_values)
        known = incoming_condition_values or {}
        for operator, tests in (self._statement.get("Condition") or {}).items():
            if operator.endswith("IfExists") or operator == "Null":
                continue
            if any(key not in known for key in tests):
                return PermissionResult.NEUTRAL
        return moto_is_action_permitted(self, action, resource, principal, incoming_condition_values)

    IAMPolicyStatement.is_action_permitted = is_action_permitted  # type: ignore[method-assign]


def _actions_match_whatever_their_case() -> None:
    """IAM compares action names without regard to case ("batch:ListJobs" allows Batch's ListJobs);
    moto names a Batch action from its URL path ("batch:listjobs") and matches it case-sensitively,
    so a policy as AWS documents it was refused. Resources keep moto's exact match (ARNs have case)."""
    import re

    from moto.iam.access_control import IAMPolicyStatement

    check = IAMPolicyStatement._check_element_matches
    if getattr(check, "actions_ignore_case", False):
        return

    def check_element_matches(self: Any, statement_element: Any, value: str) -> bool:
        if statement_element not in ("Action", "NotAction"):
            return bool(check(self, statement_element, value))
        patterns = self._statement[statement_element]
        for pattern in patterns if isinstance(patterns, list) else [patterns]:
            regex = "^" + re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".") + "$"
            if re.match(regex, value, flags=re.IGNORECASE):
                return True
        return False

    check_element_matches.actions_ignore_case = True  # type: ignore[attr-defined]
    IAMPolicyStatement._check_element_matches = check_element_matches  # type: ignore[method-assign]


# CloudFront response headers policies (the front end's security headers, iac/modules/frontend):
# moto has no route for them (404). Kept as the provider sent them, echoed back on reads.
_RESPONSE_HEADERS_POLICIES: dict[str, dict[str, Any]] = {}


def _stored_response_headers_policy(policy_id: str) -> dict[str, Any]:
    from moto.cloudfront.exceptions import CloudFrontException

    if policy_id not in _RESPONSE_HEADERS_POLICIES:
        raise CloudFrontException("NoSuchResponseHeadersPolicy", "The response headers policy does not exist.")
    return _RESPONSE_HEADERS_POLICIES[policy_id]


def _response_headers_policy_result(policy_id: str) -> Any:
    from moto.core.responses import ActionResult

    stored = _stored_response_headers_policy(policy_id)
    policy = {"Id": policy_id, "LastModifiedTime": stored["modified"], "ResponseHeadersPolicyConfig": stored["config"]}
    return ActionResult({"ResponseHeadersPolicy": policy, "ETag": stored["etag"]})


def _put_response_headers_policy(policy_id: str, config: dict[str, Any]) -> None:
    import uuid
    from datetime import UTC, datetime

    _RESPONSE_HEADERS_POLICIES[policy_id] = {
        "config": config,
        "modified": datetime.now(UTC),
        "etag": uuid.uuid4().hex[:14].upper(),
    }


def _create_response_headers_policy(self: Any) -> Any:
    import uuid

    policy_id = str(uuid.uuid4())
    _put_response_headers_policy(policy_id, self._get_param("ResponseHeadersPolicyConfig", {}))
    return _response_headers_policy_result(policy_id)


def _get_response_headers_policy(self: Any) -> Any:
    return _response_headers_policy_result(self._get_param("Id"))


def _get_response_headers_policy_config(self: Any) -> Any:
    from moto.core.responses import ActionResult

    stored = _stored_response_headers_policy(self._get_param("Id"))
    return ActionResult({"ResponseHeadersPolicyConfig": stored["config"], "ETag": stored["etag"]})


def _update_response_headers_policy(self: Any) -> Any:
    policy_id = self._get_param("Id")
    _stored_response_headers_policy(policy_id)
    _put_response_headers_policy(policy_id, self._get_param("ResponseHeadersPolicyConfig", {}))
    return _response_headers_policy_result(policy_id)


def _delete_response_headers_policy(self: Any) -> Any:
    from moto.core.responses import ActionResult

    _stored_response_headers_policy(self._get_param("Id"))
    _RESPONSE_HEADERS_POLICIES.pop(self._get_param("Id"), None)
    return ActionResult({})


def _batch_uses_its_service_linked_role() -> None:
    from moto.batch.models import BatchBackend
    from moto.iam.models import NotFoundException

    create = BatchBackend.create_compute_environment
    if getattr(create, "uses_service_linked_role", False):
        return

    def create_compute_environment(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not kwargs.get("service_role"):
            name = "AWSServiceRoleForBatch"
            try:
                role = self.iam_backend.get_role(name)
            except NotFoundException:
                trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                         "Principal": {"Service": "batch.amazonaws.com"}}]}  # fmt: skip
                role = self.iam_backend.create_role(
                    role_name=name, assume_role_policy_document=json.dumps(trust),
                    path="/aws-service-role/batch.amazonaws.com/", permissions_boundary=None, description="",
                    tags=[], max_session_duration="3600",
                )  # fmt: skip
            kwargs["service_role"] = role.arn
        return create(self, *args, **kwargs)

    create_compute_environment.uses_service_linked_role = True  # type: ignore[attr-defined]
    BatchBackend.create_compute_environment = create_compute_environment  # type: ignore[method-assign]


def register(events: Any, settings: Any) -> None:
    from moto.athena.responses import AthenaResponse
    from moto.cloudfront import urls as cloudfront_urls
    from moto.cloudfront.responses import CloudFrontResponse

    # PublishFunction (the SPA fallback's CloudFront Function): moto has no route for it (404).
    cloudfront_urls.url_paths["{0}/2020-05-31/function/(?P<function_name>[^/]+)/publish$"] = CloudFrontResponse.dispatch
    CloudFrontResponse.publish_function = _publish_function  # type: ignore[attr-defined]
    # Response headers policies: create/get/update/delete, as the AWS provider calls them.
    policies = "{0}/2020-05-31/response-headers-policy"
    cloudfront_urls.url_paths[policies + "$"] = CloudFrontResponse.dispatch
    cloudfront_urls.url_paths[policies + "/(?P<policy_id>[^/]+)$"] = CloudFrontResponse.dispatch
    cloudfront_urls.url_paths[policies + "/(?P<policy_id>[^/]+)/config$"] = CloudFrontResponse.dispatch
    for name, method in {
        "create_response_headers_policy": _create_response_headers_policy,
        "get_response_headers_policy": _get_response_headers_policy,
        "get_response_headers_policy_config": _get_response_headers_policy_config,
        "update_response_headers_policy": _update_response_headers_policy,
        "delete_response_headers_policy": _delete_response_headers_policy,
    }.items():
        setattr(CloudFrontResponse, name, method)
    from moto.stepfunctions.responses import StepFunctionResponse

    _deny_applies_only_when_its_condition_holds()
    _actions_match_whatever_their_case()
    _batch_uses_its_service_linked_role()
    from moto.s3.models import FakeDeleteMarker

    if not hasattr(FakeDeleteMarker, "dispose"):
        FakeDeleteMarker.dispose = lambda self, garbage=False: None  # type: ignore[attr-defined]
    StepFunctionResponse.validate_state_machine_definition = _validate_state_machine_definition  # type: ignore[attr-defined]
    StepFunctionResponse.list_state_machine_versions = _list_state_machine_versions  # type: ignore[attr-defined]
    AthenaResponse.delete_named_query = _delete_named_query  # type: ignore[attr-defined]
