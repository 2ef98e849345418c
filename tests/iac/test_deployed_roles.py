"""The harness's IAM stand-ins bite (tests/iac/deployed_roles.py), on a moto server in this process.

Under enforcement a role's session may do what its policy allows and nothing else, a
presigned URL acts with its signer's permissions (moto alone answers it with 500), and the
states service's own key is exempt as AWS's own calls are.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests

from tests.iac import deployed_roles

pytestmark = [pytest.mark.functional]

BUCKET = "harness-probe"
TABLE = "harness-probe"
ROLE = "arn:aws:iam::123456789012:role/probe"


def client(endpoint: str, service: str, keys: dict[str, str]) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=keys.get("AWS_SESSION_TOKEN"),
    )


@pytest.fixture
def enforced() -> Iterator[tuple[str, dict[str, str]]]:
    """moto with the harness patch; a role allowed Get/Put under uploads/ and PutItem on a table; enforcement on."""
    from moto.server import ThreadedMotoServer

    undo = deployed_roles.enforce_like_aws()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    service = {"AWS_ACCESS_KEY_ID": deployed_roles.SERVICE_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": "x"}
    try:
        iam = client(endpoint, "iam", service)
        trust = {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        iam.create_role(
            RoleName="probe", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [trust]})
        )
        table_arn = f"arn:aws:dynamodb:us-east-1:123456789012:table/{TABLE}"
        allow = [
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": f"arn:aws:s3:::{BUCKET}/uploads/*",
            },
            {"Effect": "Allow", "Action": ["dynamodb:PutItem"], "Resource": table_arn},
        ]
        iam.put_role_policy(
            RoleName="probe", PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": allow})
        )
        client(endpoint, "s3", service).create_bucket(Bucket=BUCKET)
        client(endpoint, "dynamodb", service).create_table(
            TableName=TABLE, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        )  # fmt: skip
        creds = client(endpoint, "sts", service).assume_role(RoleArn=ROLE, RoleSessionName="probe")["Credentials"]
        keys = {
            "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
            "AWS_SESSION_TOKEN": creds["SessionToken"],
        }
        requests.post(f"{endpoint}/moto-api/reset-auth", data=b"0", timeout=30).raise_for_status()
        yield endpoint, keys
    finally:
        requests.post(f"{endpoint}/moto-api/reset-auth", data=b"inf", timeout=30)
        requests.post(f"{endpoint}/moto-api/reset", timeout=30)  # moto's backends live in this process
        server.stop()
        undo()


def test_a_role_session_may_do_what_its_policy_allows_and_nothing_else(enforced: tuple[str, dict[str, str]]) -> None:
    endpoint, keys = enforced
    s3 = client(endpoint, "s3", keys)
    s3.put_object(Bucket=BUCKET, Key="uploads/a", Body=b"a")
    for refused in (
        lambda: s3.delete_object(Bucket=BUCKET, Key="uploads/a"),
        lambda: s3.put_object(Bucket=BUCKET, Key="results/a", Body=b"a"),
    ):
        with pytest.raises(s3.exceptions.ClientError, match="AccessDenied"):
            refused()
    # The service's own key stands for AWS's internal calls: not checked.
    service = {"AWS_ACCESS_KEY_ID": deployed_roles.SERVICE_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": "x"}
    assert client(endpoint, "s3", service).get_object(Bucket=BUCKET, Key="uploads/a")["Body"].read() == b"a"


@pytest.mark.parametrize("signature_version", ["s3v4", "s3"])
def test_presigned_requests_act_with_their_signers_permissions(
    enforced: tuple[str, dict[str, str]], signature_version: str
) -> None:
    from botocore.config import Config

    endpoint, keys = enforced
    s3 = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", config=Config(signature_version=signature_version),
        aws_access_key_id=keys["AWS_ACCESS_KEY_ID"], aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=keys["AWS_SESSION_TOKEN"],
    )  # fmt: skip
    inside = s3.generate_presigned_post(BUCKET, "uploads/b")
    assert requests.post(inside["url"], data=inside["fields"], files={"file": b"b"}, timeout=30).status_code == 204
    outside = s3.generate_presigned_post(BUCKET, "results/b")
    refused = requests.post(outside["url"], data=outside["fields"], files={"file": b"b"}, timeout=30)
    assert (refused.status_code, "AccessDenied" in refused.text) == (403, True)
    link = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "uploads/b"})
    assert requests.get(link, timeout=30).content == b"b"


def test_a_transaction_is_authorized_item_by_item(enforced: tuple[str, dict[str, str]]) -> None:
    endpoint, keys = enforced
    dynamodb = client(endpoint, "dynamodb", keys)
    put = {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "a"}}}}
    dynamodb.transact_write_items(TransactItems=[put])  # PutItem is granted: so is a transaction of puts
    update = {"Update": {"TableName": TABLE, "Key": {"pk": {"S": "a"}}, "UpdateExpression": "SET n = :one",
                         "ExpressionAttributeValues": {":one": {"N": "1"}}}}  # fmt: skip
    with pytest.raises(dynamodb.exceptions.ClientError, match=r"AccessDenied.*UpdateItem"):
        dynamodb.transact_write_items(TransactItems=[put, update])


def test_dynamodb_calls_are_authorized_against_their_table(enforced: tuple[str, dict[str, str]]) -> None:
    endpoint, keys = enforced
    dynamodb = client(endpoint, "dynamodb", keys)
    dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "b"}})  # PutItem on this table's ARN: allowed
    with pytest.raises(dynamodb.exceptions.ClientError, match=r"AccessDenied.*GetItem"):
        dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "b"}})
