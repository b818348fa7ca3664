"""Secrets Manager rotation in moto, in the shape AWS documents it (tests only).

moto 5.2.1 differs from Secrets Manager exactly where a first rotation (onboarding) depends on it:
- RotateSecret on a secret with no version makes no version at all. AWS makes an empty version staged
  AWSPENDING, whose id is the token it invokes the rotation function with (Secrets Manager API
  reference, DescribeSecret, VersionIdsToStages: "During rotation, Secrets Manager creates an
  AWSPENDING version ID before creating the new secret version"; RotateSecret: "when rotation is
  unsuccessful, the AWSPENDING staging label might be attached to an empty secret version").
- RotateSecret refuses to start while AWSPENDING sits on the AWSCURRENT version, and starts while it
  sits on another version. AWS does the opposite (RotateSecret: "If the AWSPENDING staging label is
  present but not attached to the same version as AWSCURRENT, then any later invocation of
  RotateSecret assumes that a previous rotation request is still in progress and returns an error").
- RotateSecret without a rotation function "rotates" by relabelling. AWS needs the function.
- UpdateSecretVersionStage adding AWSCURRENT when no version holds it (the first stage move of an
  onboarding) fails with an internal error. AWS requires RemoveFromVersionId only "if the staging
  label is already attached to a different version" (UpdateSecretVersionStage, RemoveFromVersionId).
- PutSecretValue under the token of an AWSPENDING version that already has a value overwrites it
  (and its labels). AWS refuses another value under an existing version's token and ignores the same
  one again (PutSecretValue, ClientRequestToken: "you cannot modify an existing secret version");
  only RotateSecret's empty version is filled. Here that check and the write are one atomic step.

moto still can't invoke the function (it would need Docker): RotateSecret then fails with
ResourceNotFoundException after making the empty version, as a failed rotation leaves it on AWS.
Tests drive the four steps with that version's id, as Secrets Manager would. test/fakes/secrets-manager.ts
is the full double (it invokes the function); this module only brings moto's shape in line.
"""

import threading
import time
import uuid

from moto.secretsmanager.exceptions import (
    InvalidRequestException,
    ResourceExistsException,
    ResourceNotFoundException,
)
from moto.secretsmanager.models import SecretsManagerBackend

PENDING, CURRENT = "AWSPENDING", "AWSCURRENT"

_original_rotate_secret = SecretsManagerBackend.rotate_secret
_original_update_secret_version_stage = SecretsManagerBackend.update_secret_version_stage
_original_put_secret_value = SecretsManagerBackend.put_secret_value
_put_lock = threading.Lock()


def _holder(secret, stage):
    return next((vid for vid, v in secret.versions.items() if stage in v["version_stages"]), None)


def _rotate_secret(
    self,
    secret_id,
    client_request_token=None,
    rotation_lambda_arn=None,
    rotation_rules=None,
    rotate_immediately=True,
):
    if not self._is_valid_identifier(secret_id):
        return _original_rotate_secret(self, secret_id)  # moto's own not-found answer
    secret = self.secrets[secret_id]
    if not (rotation_lambda_arn or getattr(secret, "rotation_lambda_arn", None)):
        raise InvalidRequestException("No Lambda rotation function ARN is associated with this secret.")
    pending = _holder(secret, PENDING)
    undo = []
    if pending is not None:
        if CURRENT not in secret.versions[pending]["version_stages"]:
            raise InvalidRequestException(
                "A previous rotation isn't complete. That rotation will be reattempted."
            )
        # A finished rotation's AWSPENDING moves to the new version (a label is on one version at a time).
        secret.versions[pending]["version_stages"].remove(PENDING)
        undo.append(lambda: secret.versions[pending]["version_stages"].append(PENDING))
    token = client_request_token or str(uuid.uuid4())
    if not secret.versions:
        secret.versions[token] = {"createdate": int(time.time()), "version_id": token, "version_stages": [PENDING]}
        undo.append(lambda: secret.versions.pop(token, None))
    try:
        return _original_rotate_secret(
            self, secret_id, token, rotation_lambda_arn, rotation_rules, rotate_immediately
        )
    except ResourceNotFoundException:
        # moto can't find (run) the function: the rotation failed after the empty version was made.
        raise
    except Exception:
        for step in reversed(undo):
            step()
        raise


def _update_secret_version_stage(self, secret_id, version_stage, remove_from_version_id, move_to_version_id):
    if version_stage == CURRENT and move_to_version_id and not remove_from_version_id and secret_id in self.secrets:
        secret = self.secrets[secret_id]
        if _holder(secret, CURRENT) is None and move_to_version_id in secret.versions:
            secret.versions[move_to_version_id]["version_stages"].append(CURRENT)
            secret.set_default_version_id(move_to_version_id)
            return secret.arn, secret.name
    return _original_update_secret_version_stage(
        self, secret_id, version_stage, remove_from_version_id, move_to_version_id
    )


def _put_secret_value(self, secret_id, secret_string, secret_binary, client_request_token, version_stages):
    with _put_lock:
        if client_request_token and self._is_valid_identifier(secret_id):
            secret = self.secrets[secret_id]
            version = secret.versions.get(client_request_token)
            if version is not None and ("secret_string" in version or "secret_binary" in version):
                if version.get("secret_string") != secret_string or version.get("secret_binary") != secret_binary:
                    raise ResourceExistsException(
                        "You can't modify an existing version, you can only create a new version."
                    )
                return secret.to_short_dict(include_version_stages=True, version_id=client_request_token)
        return _original_put_secret_value(
            self, secret_id, secret_string, secret_binary, client_request_token, version_stages
        )


SecretsManagerBackend.rotate_secret = _rotate_secret
SecretsManagerBackend.put_secret_value = _put_secret_value
SecretsManagerBackend.update_secret_version_stage = _update_secret_version_stage
