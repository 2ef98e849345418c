"""Stand-ins for the three APIs moto 5.2.5 answers with 500, for the Terraform apply test only.

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

And one moto gap in bucket policies: moto fills in no request context (it knows nothing
of aws:SecureTransport, aws:SourceArn, ...) and treats a condition on a key it does not know
as met. AWS treats it as not met, so the statement does not apply. Under moto the buckets'
"deny unless aws:SecureTransport" statement therefore denied every request, including
Terraform's upload of the Lambda package. Here a statement whose condition names a key the
request does not carry is skipped, as AWS does (``...IfExists`` and ``Null`` excepted).
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


def _statement_applies_only_when_its_condition_holds() -> None:
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult

    moto_is_action_permitted = IAMPolicyStatement.is_action_permitted

    def is_action_permitted(
        self: Any,
        action: str,
        resource: str = "*",
        principal: str | None = None,
        incoming_condition_values: dict[str, str] | None = None,
    ) -> Any:
        known = incoming_condition_values or {}
        for operator, tests in (self._statement.get("Condition") or {}).items():
            if operator.endswith("IfExists") or operator == "Null":
                continue
            if any(key not in known for key in tests):
                return PermissionResult.NEUTRAL
        return moto_is_action_permitted(self, action, resource, principal, incoming_condition_values)

    IAMPolicyStatement.is_action_permitted = is_action_permitted  # type: ignore[method-assign]


def register(events: Any, settings: Any) -> None:
    from moto.athena.responses import AthenaResponse
    from moto.stepfunctions.responses import StepFunctionResponse

    _statement_applies_only_when_its_condition_holds()
    StepFunctionResponse.validate_state_machine_definition = _validate_state_machine_definition  # type: ignore[attr-defined]
    StepFunctionResponse.list_state_machine_versions = _list_state_machine_versions  # type: ignore[attr-defined]
    AthenaResponse.delete_named_query = _delete_named_query  # type: ignore[attr-defined]
