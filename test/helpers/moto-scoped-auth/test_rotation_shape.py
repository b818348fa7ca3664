"""rotation_shape inside a real moto server: RotateSecret and the first stage move as AWS documents them."""

import os
import sys

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rotation_shape  # noqa: E402,F401  (patches moto on import)

from moto.server import ThreadedMotoServer  # noqa: E402

LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:keyrot-dev-rotate"
T1 = "11111111-1111-4111-8111-111111111111"
T2 = "22222222-2222-4222-8222-222222222222"
T3 = "33333333-3333-4333-8333-333333333333"


@pytest.fixture(scope="module")
def sm():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    requests.post(f"{url}/moto-api/reset")
    yield boto3.client(
        "secretsmanager",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    server.stop()


def error(call):
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


def stages(sm, name):
    return sm.describe_secret(SecretId=name).get("VersionIdsToStages", {})


def rotate(sm, name, token):
    return sm.rotate_secret(
        SecretId=name,
        ClientRequestToken=token,
        RotationLambdaARN=LAMBDA,
        RotationRules={"AutomaticallyAfterDays": 90},
    )


def test_rotate_secret_on_a_secret_without_value_makes_the_empty_pending_version_then_fails_to_run_the_function(sm):
    sm.create_secret(Name="s/onboard")
    assert error(lambda: rotate(sm, "s/onboard", T1))[0] == "ResourceNotFoundException"
    assert stages(sm, "s/onboard") == {T1: ["AWSPENDING"]}
    assert error(lambda: sm.get_secret_value(SecretId="s/onboard", VersionId=T1))[0] == "ResourceNotFoundException"
    assert sm.describe_secret(SecretId="s/onboard")["RotationEnabled"] is True


def test_put_secret_value_fills_the_empty_version_and_the_first_move_adds_awscurrent_without_remove_from(sm):
    sm.create_secret(Name="s/first")
    error(lambda: rotate(sm, "s/first", T1))
    sm.put_secret_value(SecretId="s/first", ClientRequestToken=T1, SecretString="v", VersionStages=["AWSPENDING"])
    assert stages(sm, "s/first") == {T1: ["AWSPENDING"]}
    sm.update_secret_version_stage(SecretId="s/first", VersionStage="AWSCURRENT", MoveToVersionId=T1)
    assert stages(sm, "s/first") == {T1: ["AWSPENDING", "AWSCURRENT"]}
    assert sm.get_secret_value(SecretId="s/first")["SecretString"] == "v"


def test_a_pending_version_that_is_not_current_refuses_a_new_rotation(sm):
    sm.create_secret(Name="s/busy")
    error(lambda: rotate(sm, "s/busy", T1))
    assert error(lambda: rotate(sm, "s/busy", T2)) == (
        "InvalidRequestException",
        "A previous rotation isn't complete. That rotation will be reattempted.",
    )
    assert stages(sm, "s/busy") == {T1: ["AWSPENDING"]}


def test_a_pending_label_on_the_current_version_moves_to_the_new_empty_version(sm):
    sm.create_secret(Name="s/done", SecretString="v1", ClientRequestToken=T1)
    sm.update_secret_version_stage(SecretId="s/done", VersionStage="AWSPENDING", MoveToVersionId=T1)
    assert error(lambda: rotate(sm, "s/done", T2))[0] == "ResourceNotFoundException"
    assert stages(sm, "s/done") == {T1: ["AWSCURRENT"], T2: ["AWSPENDING"]}


def test_rotation_needs_a_function_and_a_refused_request_changes_nothing(sm):
    sm.create_secret(Name="s/nofn")
    assert error(lambda: sm.rotate_secret(SecretId="s/nofn", ClientRequestToken=T3))[0] == "InvalidRequestException"
    assert stages(sm, "s/nofn") == {}
    assert error(lambda: rotate(sm, "s/nobody", T3))[0] == "ResourceNotFoundException"


def test_another_value_under_a_pending_version_s_token_is_refused_and_the_same_value_is_ignored(sm):
    sm.create_secret(Name="s/race", SecretString="v1", ClientRequestToken=T1)
    put = lambda value: sm.put_secret_value(  # noqa: E731
        SecretId="s/race", ClientRequestToken=T2, SecretString=value, VersionStages=["AWSPENDING"]
    )
    put("a")
    put("a")
    assert error(lambda: put("b"))[0] == "ResourceExistsException"
    assert sm.get_secret_value(SecretId="s/race", VersionId=T2)["SecretString"] == "a"
    assert stages(sm, "s/race") == {T1: ["AWSCURRENT"], T2: ["AWSPENDING"]}
