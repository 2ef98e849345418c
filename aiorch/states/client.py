"""The Step Functions client every component uses: a plain boto3 client, AWS or any endpoint.

Part of the core so the Lambda package (which holds no ``workflows/``) can start,
stop and read executions. The local states service is just another endpoint.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

from aiorch.settings import Settings

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def execution_arn(state_machine_arn: str, execution_id: str) -> str:
    """The ARN Step Functions gives an execution named ``execution_id`` (our ids are the names)."""
    return state_machine_arn.replace(":stateMachine:", ":execution:") + f":{execution_id}"


def states_endpoint(settings: Settings) -> str | None:
    """Where Step Functions answers: an explicit endpoint, AWS (``state_machine_arn`` set), or the local service."""
    if settings.states_endpoint_url:
        return settings.states_endpoint_url
    if settings.state_machine_arn:
        return None  # AWS: boto3 picks the regional endpoint
    return settings.resolved_states_endpoint_url


def states_client(settings: Settings) -> Any:
    """A plain boto3 ``stepfunctions`` client: the local service by default, AWS when configured."""
    endpoint = states_endpoint(settings)
    kwargs: dict[str, Any] = {
        "region_name": settings.aws_region,
        "endpoint_url": endpoint,
        "config": Config(connect_timeout=3, read_timeout=30, retries={"max_attempts": 2, "mode": "standard"}),
    }
    if endpoint and urlsplit(endpoint).hostname in _LOOPBACK and not _credentials_configured():
        # The local service takes any keys; configured credentials (an emulator enforcing IAM) win.
        kwargs |= {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
    return boto3.client("stepfunctions", **kwargs)


def _credentials_configured() -> bool:
    """Keys or a profile in the environment or the shared files, looked up without the network.

    botocore's full chain would also ask the instance metadata endpoint, which on a
    laptop waits for a time-out; that source only exists inside AWS, where no loopback
    endpoint is used.
    """
    session = boto3.session.Session()
    resolver = session._session.get_component("credential_provider")
    for provider in resolver.providers:
        if provider.METHOD in {"env", "shared-credentials-file", "config-file", "assume-role", "sso"}:
            try:
                if provider.load() is not None:
                    return True
            except Exception:  # a broken profile is for boto3 to report when the call is made
                return True
    return False
