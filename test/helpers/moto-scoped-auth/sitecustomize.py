"""IAM authorization for moto_server that follows AWS's documented rules (tests only).

moto 5.2.1 checks signed requests against the caller's IAM policies, but it differs from IAM in ways
that would make a least-privilege test pass for the wrong reasons:
- it authorizes most actions against the resource "*" (only roles and SQS queues are resolved), so a
  policy scoped to a user path or a secret prefix would be denied everything;
- it evaluates conditions for sts:ExternalId only, and a statement whose condition fails is an
  explicit Deny, even an Allow (AWS: such a statement is neutral);
- Secrets Manager and SNS never call KMS, so no kms: statement is ever evaluated;
- it accepts requests signed with an Inactive access key (AWS refuses them);
- every refusal is an IAM-style XML "AccessDenied", also for JSON services.

Python loads this module at start-up when its directory is on PYTHONPATH (lib/testbed/moto.ts
`startMoto({ pythonPath })`). It changes exactly these things, through moto's own hooks:

1. The resource and condition keys of each request (`_authenticate_and_authorize_normal_action`):
   - IAM, by UserName: the user's ARN, path included; GetAccessKeyLastUsed: the key owner's ARN;
     ListUsers: arn:aws:iam::<account>:user<PathPrefix>.
   - Secrets Manager, by SecretId: the secret's ARN, with secretsmanager:ResourceTag/<key> and
     aws:ResourceTag/<key>; CreateSecret: arn:...:secret:<Name> with aws:RequestTag/<key>; TagResource
     adds aws:RequestTag/<key> and aws:TagKeys.
   - SNS, by TopicArn: the topic's ARN. KMS, by KeyId: the key's ARN.
   - Anything else keeps moto's resource ("*", or the role / queue ARN moto resolves).
   - sts:AssumeRole: aws:ResourceOrgID, the organization of the role's account (if it has one).
2. The decision (`IAMRequestBase.check_action_permitted`): policy_evaluation.evaluate, AWS's logic
   for identity policies (explicit deny > allow > implicit deny). sts:GetCallerIdentity needs no
   permission (STS API reference: "No permissions are required to perform this operation").
   SQS batch calls are authorized as their single action (SendMessageBatch as sqs:SendMessage).
   AssumeRole still needs the role's trust policy to allow the caller, evaluated as IAM does: a role's
   ARN as Principal covers that role's sessions, and a condition on a key the request lacks fails
   (moto matches sessions against their assumed-role ARN only, and lets a missing ExternalId pass).
3. KMS on the caller's behalf, as the service would call it with the caller's credentials and
   kms:ViaService set (Secrets Manager User Guide, "Secret encryption and decryption": a new data key
   whenever a secret value changes, Decrypt for GetSecretValue; SNS Developer Guide, "Key
   management": publishing to an encrypted topic needs kms:GenerateDataKey and kms:Decrypt). Only
   customer-managed keys; the key policy is taken to be the default one that delegates to IAM.
4. Refusals answered as each service does: IAM and STS `AccessDenied` (XML, 403); Secrets Manager and
   KMS `AccessDeniedException` (JSON, 400); SNS `AuthorizationError` (XML, 403), `KMSAccessDenied`
   (400) when the key refused; SQS `AccessDenied` (JSON, 403).
5. A request signed with an Inactive access key is refused like an unknown key (IAM User Guide,
   "Manage access keys for IAM users": an inactive key can't be used to make API calls; AWS answers
   InvalidClientTokenId, or UnrecognizedClientException for JSON services).

Signature checks and collecting the identity's policies stay moto's own code.

It also loads rotation_shape, which brings moto's Secrets Manager rotation in line with AWS's
documented shape (the empty AWSPENDING version RotateSecret makes, and the first AWSCURRENT move).
"""

import json
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from policy_evaluation import ALLOW, conditions_hold, evaluate, wildcard_match  # noqa: E402

import rotation_shape  # noqa: E402,F401  (patches moto's Secrets Manager rotation on import)

from moto.core.authorization import ActionAuthenticatorMixin  # noqa: E402
from moto.core.exceptions import JsonRESTError, _RESTError  # noqa: E402
from moto.iam import access_control  # noqa: E402
from moto.iam.models import iam_backends  # noqa: E402
from moto.kms.models import kms_backends  # noqa: E402
from moto.organizations.models import organizations_backends  # noqa: E402
from moto.secretsmanager.models import secretsmanager_backends  # noqa: E402
from moto.sns.models import sns_backends  # noqa: E402

_request = threading.local()

JSON_SERVICES = {"secretsmanager", "kms"}


def _query_param(response, name):
    value = (response.data or {}).get(name)
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _iam_user_resource(response):
    account, partition = response.current_account, response.partition
    backend = iam_backends[account][partition]
    action = response._get_action()
    if action == "ListUsers":
        return f"arn:{partition}:iam::{account}:user{_query_param(response, 'PathPrefix') or '/'}"
    if action == "GetAccessKeyLastUsed":
        key_id = _query_param(response, "AccessKeyId")
        for user in backend.users.values():
            if any(key.access_key_id == key_id for key in user.access_keys):
                return user.arn
        return "*"
    user_name = _query_param(response, "UserName")
    if not user_name:
        return "*"
    user = backend.users.get(user_name)
    if user is not None:
        return user.arn
    return f"arn:{partition}:iam::{account}:user{_query_param(response, 'Path') or '/'}{user_name}"


def _tags(tag_list, prefix):
    return {f"{prefix}{tag['Key']}": tag["Value"] for tag in tag_list or []}


def _key_arn(account, region, key_id):
    """The ARN of a customer-managed KMS key named by id, ARN, alias or alias ARN; None for the AWS-managed key."""
    if not key_id or key_id.startswith("alias/aws/") or ":alias/aws/" in key_id:
        return None
    backend = kms_backends[account][region]
    try:
        raw = backend.any_id_to_key_id(key_id)
        return backend.keys[raw].arn
    except Exception:  # an unknown key: the service call fails on its own
        return key_id if key_id.startswith("arn:") else None


def _via(service, region):
    return f"{service}.{region}.amazonaws.com"


def _secret_resource(response):
    """(resource, context, implied KMS checks) of a Secrets Manager request."""
    account, region, partition = response.current_account, response.region, response.partition
    try:
        body = json.loads(response.body or "{}")
    except ValueError:
        return "*", {}, []
    action = response._get_action()
    writes_value = "SecretString" in body or "SecretBinary" in body
    if action == "CreateSecret" and body.get("Name"):
        resource = f"arn:{partition}:secretsmanager:{region}:{account}:secret:{body['Name']}"
        context = {**_tags(body.get("Tags"), "aws:RequestTag/")}
        if body.get("Tags"):
            context["aws:TagKeys"] = [t["Key"] for t in body["Tags"]]
        key = _key_arn(account, region, body.get("KmsKeyId"))
        kms = [("kms:GenerateDataKey", key, resource)] if key and writes_value else []
        return resource, context, kms
    secret_id = body.get("SecretId")
    if not secret_id:
        return "*", {}, []
    secret = secretsmanager_backends[account][region].secrets.get(secret_id)
    if secret is None:
        if secret_id.startswith("arn:"):
            return secret_id, {}, []
        return f"arn:{partition}:secretsmanager:{region}:{account}:secret:{secret_id}", {}, []
    context = {
        **_tags(secret.tags, "secretsmanager:ResourceTag/"),
        **_tags(secret.tags, "aws:ResourceTag/"),
    }
    if action == "TagResource":
        context.update(_tags(body.get("Tags"), "aws:RequestTag/"))
        context["aws:TagKeys"] = [t["Key"] for t in body.get("Tags") or []]
    if action == "UntagResource":
        context["aws:TagKeys"] = list(body.get("TagKeys") or [])
    key = _key_arn(account, region, getattr(secret, "kms_key_id", None))
    kms = []
    if key and action == "GetSecretValue":
        kms = [("kms:Decrypt", key, secret.arn)]
    elif key and action in ("PutSecretValue", "UpdateSecret") and writes_value:
        kms = [("kms:GenerateDataKey", key, secret.arn)]
    return secret.arn, context, kms


def _sns_resource(response):
    topic_arn = _query_param(response, "TopicArn")
    if not topic_arn:
        return "*", {}, []
    kms = []
    if response._get_action() == "Publish":
        topic = sns_backends[response.current_account][response.region].topics.get(topic_arn)
        key = _key_arn(response.current_account, response.region, getattr(topic, "kms_master_key_id", ""))
        if key:
            kms = [("kms:GenerateDataKey", key, None), ("kms:Decrypt", key, None)]
    return topic_arn, {}, kms


def _kms_resource(response):
    try:
        body = json.loads(response.body or "{}")
    except ValueError:
        return "*", {}, []
    key = _key_arn(response.current_account, response.region, body.get("KeyId"))
    return key or "*", {}, []


def _resolve(response):
    service = getattr(response, "service_name", None)
    if service == "iam":
        return _iam_user_resource(response), {}, []
    if service == "secretsmanager":
        return _secret_resource(response)
    if service == "sns":
        return _sns_resource(response)
    if service == "kms":
        return _kms_resource(response)
    return "*", {}, []


_original_authorize = ActionAuthenticatorMixin._authenticate_and_authorize_normal_action


def _authorize(self, resource="*"):
    context, kms = {}, []
    if resource == "*":
        resource, context, kms = _resolve(self)
    _request.context = context
    _request.kms = kms
    _request.service = getattr(self, "service_name", None)
    try:
        return _original_authorize(self, resource)
    finally:
        _request.context, _request.kms, _request.service = {}, [], None


ActionAuthenticatorMixin._authenticate_and_authorize_normal_action = _authorize


def _documents(access_key):
    return [access_control.IAMPolicy(p)._policy_json for p in access_key.collect_policies()]


# Batch calls IAM authorizes as their single-message action (SQS Developer Guide, "Amazon SQS API
# permissions: Actions and resource reference": SendMessageBatch needs sqs:SendMessage, and so on).
_AUTHORIZED_AS = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
}


def _resource_org_id(resource):
    """aws:ResourceOrgID: the organization of the account that owns the resource, if it has one."""
    parts = str(resource).split(":")
    if len(parts) < 5 or not parts[4]:
        return None
    owner = parts[4]
    for per_account in list(organizations_backends.values()):
        for backend in list(per_account.values()):
            org = backend.org
            if org and (org.master_account_id == owner or any(a.id == owner for a in backend.accounts)):
                return org.id
    return None


def _check_action_permitted(self, resource):
    if self._action == "sts:GetCallerIdentity":
        return
    documents = _documents(self._access_key)
    account = self.account_id
    context = {
        **getattr(_request, "context", {}),
        "aws:PrincipalArn": self._access_key.arn,
        "aws:PrincipalAccount": account,
    }
    if self._action == "sts:AssumeRole":
        org_id = _resource_org_id(resource)
        if org_id:
            context["aws:ResourceOrgID"] = org_id
    if evaluate(documents, _AUTHORIZED_AS.get(self._action, self._action), resource, context) != ALLOW:
        self._raise_access_denied()
    if self._is_assuming_role_operation(resource) and not self._check_role_trust_relationship(resource):
        self._raise_access_denied()
    service = getattr(_request, "service", None) or self._service
    for kms_action, key_arn, secret_arn in getattr(_request, "kms", []):
        kms_context = {
            "kms:ViaService": _via(service, self._region),
            "kms:CallerAccount": account,
            "aws:PrincipalArn": self._access_key.arn,
        }
        if secret_arn:
            kms_context["kms:EncryptionContext:SecretARN"] = secret_arn
        if evaluate(documents, kms_action, key_arn, kms_context) != ALLOW:
            self._raise_kms_denied(kms_action, key_arn)


def _raise_access_denied(self):
    arn, action = self._access_key.arn, self._action
    message = f"User: {arn} is not authorized to perform: {action}"
    if self._service in JSON_SERVICES:
        raise JsonRESTError("AccessDeniedException", message)
    if self._service == "sns":
        error = _RESTError("AuthorizationError", message)
        error.code = 403
        raise error
    if self._service == "sqs":
        # SQS speaks JSON to current SDKs and names the error AccessDenied (HTTP 403).
        error = JsonRESTError("AccessDenied", message)
        error.code = 403
        raise error
    raise access_control.AccessDeniedError(user_arn=arn, action=action)


def _raise_kms_denied(self, kms_action, key_arn):
    message = (
        f"User: {self._access_key.arn} is not authorized to perform: {kms_action} on resource: {key_arn}"
    )
    if self._service == "sns":
        raise _RESTError("KMSAccessDenied", message)
    if self._service in JSON_SERVICES:
        raise JsonRESTError("AccessDeniedException", f"Access to KMS is not allowed. {message}")
    raise access_control.AccessDeniedError(user_arn=self._access_key.arn, action=kms_action)


_original_raise_invalid = access_control.IAMRequest._raise_invalid_access_key


def _raise_invalid_access_key(self, reason):
    if self._service in JSON_SERVICES:
        raise JsonRESTError(
            "UnrecognizedClientException", "The security token included in the request is invalid."
        )
    return _original_raise_invalid(self, reason)


def _check_role_trust_relationship(self, role_arn):
    """The role's trust policy, evaluated as IAM does. moto's own check compares the caller's session ARN
    with the Principal only (a role's ARN as Principal also covers that role's sessions: IAM User Guide,
    "AWS JSON policy elements: Principal", IAM role principals), and passes a condition whose key the
    request lacks (an AssumeRole without ExternalId passes StringEquals sts:ExternalId; IAM refuses it)."""
    principals = [self._access_key.arn]
    session_role = getattr(self._access_key, "_owner_role_name", None)
    if session_role:
        principals.append(self._access_key.backend.get_role(session_role).arn)
    document = self.backend.get_role_by_arn(role_arn).assume_role_policy_document
    if isinstance(document, str):
        document = json.loads(document)
    context = access_control.format_incoming_conditional_values(self._data)
    allowed = False
    for statement in _as_list(document.get("Statement")):
        principal = statement.get("Principal")
        trusted = _as_list(principal.get("AWS") if isinstance(principal, dict) else principal)
        if "*" not in trusted and not any(p in trusted for p in principals):
            continue
        if not any(wildcard_match(a, self._action, True) for a in _as_list(statement.get("Action"))):
            continue
        if not conditions_hold(statement.get("Condition"), context):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = statement.get("Effect") == "Allow" or allowed
    return allowed


def _as_list(value):
    return value if isinstance(value, list) else [] if value is None else [value]


access_control.IAMRequestBase.check_action_permitted = _check_action_permitted
access_control.IAMRequestBase._check_role_trust_relationship = _check_role_trust_relationship
access_control.IAMRequest._raise_access_denied = _raise_access_denied
access_control.IAMRequest._raise_kms_denied = _raise_kms_denied
access_control.IAMRequest._raise_invalid_access_key = _raise_invalid_access_key

_original_create_access_key = access_control.create_access_key


def _create_access_key(account_id, partition, access_key_id, headers):
    key = _original_create_access_key(account_id, partition, access_key_id, headers)
    if isinstance(key, access_control.IAMUserAccessKey):
        user = iam_backends[account_id][partition].users.get(key._owner_user_name)
        for access_key in getattr(user, "access_keys", []):
            if access_key.access_key_id == access_key_id and access_key.status != "Active":
                raise access_control.CreateAccessKeyFailure(reason="InvalidId")
    return key


access_control.create_access_key = _create_access_key
