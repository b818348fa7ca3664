"""The shim inside a real moto server (in this process): what it changes in moto, end to end."""

import json
import os
import sys

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sitecustomize  # noqa: E402,F401  (patches moto on import)

from moto.server import ThreadedMotoServer  # noqa: E402

ACCOUNT = "123456789012"
REGION = "us-east-1"


@pytest.fixture(scope="module")
def endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    yield url
    requests.post(f"{url}/moto-api/reset-auth", data=b"inf")
    server.stop()


def client(endpoint, service, key="testing", secret="testing", token=None):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
    )


def user_with_policy(iam, name, statements):
    iam.create_user(UserName=name)
    iam.put_user_policy(
        UserName=name,
        PolicyName="p",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
    )
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


@pytest.fixture(scope="module")
def world(endpoint):
    requests.post(f"{endpoint}/moto-api/reset")
    iam = client(endpoint, "iam")
    sm = client(endpoint, "secretsmanager")
    kms = client(endpoint, "kms")
    key_arn = kms.create_key()["KeyMetadata"]["Arn"]
    tagged = sm.create_secret(Name="app/tagged", SecretString="t", Tags=[{"Key": "team", "Value": "data"}])["ARN"]
    plain = sm.create_secret(Name="app/plain", SecretString="p")["ARN"]
    encrypted = sm.create_secret(Name="app/encrypted", SecretString="e", KmsKeyId=key_arn)["ARN"]
    reader = user_with_policy(
        iam,
        "reader",
        [
            # Fails for app/plain (no tag): neutral, so the next statement still allows it.
            {
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": "*",
                "Condition": {"StringEquals": {"secretsmanager:ResourceTag/team": "data"}},
            },
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": plain},
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": encrypted},
        ],
    )
    decrypter = user_with_policy(
        iam,
        "decrypter",
        [
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": encrypted},
            {
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:Encrypt"],
                "Resource": key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}},
            },
        ],
    )
    inactive = user_with_policy(iam, "inactive", [{"Effect": "Allow", "Action": "*", "Resource": "*"}])
    iam.update_access_key(UserName="inactive", AccessKeyId=inactive[0], Status="Inactive")
    requests.post(f"{endpoint}/moto-api/reset-auth", data=b"0")
    return {"reader": reader, "decrypter": decrypter, "inactive": inactive, "key": key_arn, "tagged": tagged}


def error_code(call):
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"]


def test_a_failed_condition_on_an_allow_does_not_deny_what_another_statement_allows(endpoint, world):
    sm = client(endpoint, "secretsmanager", *world["reader"])
    assert sm.get_secret_value(SecretId="app/tagged")["SecretString"] == "t"
    assert sm.get_secret_value(SecretId="app/plain")["SecretString"] == "p"


def test_secrets_manager_refuses_as_aws_does_with_a_json_access_denied_exception(endpoint, world):
    sm = client(endpoint, "secretsmanager", *world["reader"])
    assert error_code(lambda: sm.put_secret_value(SecretId="app/plain", SecretString="x")) == "AccessDeniedException"


def test_reading_an_encrypted_secret_needs_kms_decrypt_through_secrets_manager(endpoint, world):
    reader = client(endpoint, "secretsmanager", *world["reader"])
    assert error_code(lambda: reader.get_secret_value(SecretId="app/encrypted")) == "AccessDeniedException"
    decrypter = client(endpoint, "secretsmanager", *world["decrypter"])
    assert decrypter.get_secret_value(SecretId="app/encrypted")["SecretString"] == "e"
    # Called directly, kms:ViaService is absent: the same grant doesn't apply.
    kms = client(endpoint, "kms", *world["decrypter"])
    assert error_code(lambda: kms.encrypt(KeyId=world["key"], Plaintext=b"x")) == "AccessDeniedException"


def test_an_inactive_key_is_refused_as_aws_refuses_it(endpoint, world):
    sts = client(endpoint, "sts", *world["inactive"])
    assert error_code(sts.get_caller_identity) == "InvalidClientTokenId"
    sm = client(endpoint, "secretsmanager", *world["inactive"])
    assert error_code(lambda: sm.list_secrets()) == "UnrecognizedClientException"
    # The active keys of other users still work.
    assert client(endpoint, "sts", *world["reader"]).get_caller_identity()["Arn"].endswith(":user/reader")
