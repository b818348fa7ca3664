"""Resource- and condition-scoped IAM authorization for moto_server (tests only).

moto 5.2.1 checks signed requests against the caller's IAM policies, but authorizes most actions
against the resource "*" (only roles and SQS queues are resolved), and evaluates only StringEquals
conditions, on sts:ExternalId alone. A policy scoped to a user path or a secret prefix is then
denied everything, so it can't show what it allows or what it keeps out.

Python loads this module at start-up when its directory is on PYTHONPATH; lib/testbed/moto.ts sets
that for `startMoto({ scopedAuth: true })`. It uses moto's own hook (`_determine_resource`, as moto's
IAM and SQS responses do) to give moto's policy evaluator the ARN each request acts on, and the
condition keys for it:

- IAM, by UserName: the user's ARN, path included (arn:aws:iam::<account>:user<path><name>);
  GetAccessKeyLastUsed: the ARN of the key's owner; ListUsers: arn:aws:iam::<account>:user<PathPrefix>.
- Secrets Manager, by SecretId: the secret's ARN, with secretsmanager:ResourceTag/<key> and
  aws:ResourceTag/<key> for its tags; CreateSecret: arn:...:secret:<Name>, with aws:RequestTag/<key>.
- SNS, by TopicArn: the topic's ARN.
- Everything else stays "*", as moto does it.

Conditions are evaluated as IAM does for the operators keyrot's policies use (StringEquals,
StringNotEquals, StringLike, StringNotLike, ArnLike, ArnEquals, Null, and their IfExists forms): a
missing key fails the condition, and an operator not listed here fails it too, so a policy that
needs something this module does not know is denied, never silently allowed.

Everything else (signature checks, collecting the identity's policies, explicit denies, role trust)
is moto's own code.
"""

import fnmatch
import json
import re
import threading

from moto.core.authorization import ActionAuthenticatorMixin
from moto.iam import access_control
from moto.iam.models import iam_backends
from moto.secretsmanager.models import secretsmanager_backends

_request = threading.local()


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


def _secret_resource(response):
    account, region, partition = response.current_account, response.region, response.partition
    try:
        body = json.loads(response.body or "{}")
    except ValueError:
        return "*", {}
    action = response._get_action()
    if action == "CreateSecret" and body.get("Name"):
        resource = f"arn:{partition}:secretsmanager:{region}:{account}:secret:{body['Name']}"
        return resource, _tags(body.get("Tags"), "aws:RequestTag/")
    secret_id = body.get("SecretId")
    if not secret_id:
        return "*", {}
    secret = secretsmanager_backends[account][region].secrets.get(secret_id)
    if secret is None:
        if secret_id.startswith("arn:"):
            return secret_id, {}
        return f"arn:{partition}:secretsmanager:{region}:{account}:secret:{secret_id}", {}
    context = {
        **_tags(secret.tags, "secretsmanager:ResourceTag/"),
        **_tags(secret.tags, "aws:ResourceTag/"),
    }
    if action == "TagResource":
        context.update(_tags(body.get("Tags"), "aws:RequestTag/"))
    return secret.arn, context


def _resolve(response):
    service = getattr(response, "service_name", None)
    if service == "iam":
        return _iam_user_resource(response), {}
    if service == "secretsmanager":
        return _secret_resource(response)
    if service == "sns":
        return _query_param(response, "TopicArn") or "*", {}
    return "*", {}


_original_authorize = ActionAuthenticatorMixin._authenticate_and_authorize_normal_action


def _authorize(self, resource="*"):
    context = {}
    if resource == "*":
        resource, context = _resolve(self)
    _request.context = context
    try:
        return _original_authorize(self, resource)
    finally:
        _request.context = {}


ActionAuthenticatorMixin._authenticate_and_authorize_normal_action = _authorize

_original_is_action_permitted = access_control.IAMPolicy.is_action_permitted


def _is_action_permitted(self, action, resource="*", principal=None, incoming_condition_values=None):
    if incoming_condition_values is None:
        incoming_condition_values = getattr(_request, "context", {})
    return _original_is_action_permitted(self, action, resource, principal, incoming_condition_values)


access_control.IAMPolicy.is_action_permitted = _is_action_permitted


def _like(pattern, value):
    return fnmatch.fnmatchcase(value, re.sub(r"([\[\]])", r"[\1]", pattern))


_OPERATORS = {
    "StringEquals": lambda expected, actual: actual in expected,
    "StringNotEquals": lambda expected, actual: actual not in expected,
    "StringLike": lambda expected, actual: any(_like(e, actual) for e in expected),
    "StringNotLike": lambda expected, actual: not any(_like(e, actual) for e in expected),
    "ArnEquals": lambda expected, actual: actual in expected,
    "ArnLike": lambda expected, actual: any(_like(e, actual) for e in expected),
}


def _check_conditions(self, incoming_condition_values):
    conditions = self._statement.get("Condition")
    if not conditions:
        return True
    values = incoming_condition_values or {}
    for operator, entries in conditions.items():
        if_exists = operator.endswith("IfExists")
        name = operator[: -len("IfExists")] if if_exists else operator
        for key, expected in entries.items():
            expected = [str(e) for e in (expected if isinstance(expected, list) else [expected])]
            actual = values.get(key)
            if name == "Null":
                if (actual is None) != (expected[0].lower() == "true"):
                    return False
                continue
            if actual is None:
                if if_exists:
                    continue
                return False
            test = _OPERATORS.get(name)
            if test is None or not test(expected, actual):
                return False
    return True


access_control.IAMPolicyStatement._check_conditions = _check_conditions


_original_statement_permitted = access_control.IAMPolicyStatement.is_action_permitted


def _statement_permitted(self, action, resource="*", principal=None, incoming_condition_values=None):
    # moto answers DENIED for an Allow statement whose condition fails, which then overrides every
    # other statement. On AWS an Allow never denies: a statement whose condition fails just does not
    # apply (so the rotate role's tag-conditioned statement on keyrot/* can't hide its read of
    # keyrot-tokens/*). Anything no statement allows is still refused: the implicit deny.
    result = _original_statement_permitted(self, action, resource, principal, incoming_condition_values)
    if result == access_control.PermissionResult.DENIED and self._statement.get("Effect") == "Allow":
        return access_control.PermissionResult.NEUTRAL
    return result


access_control.IAMPolicyStatement.is_action_permitted = _statement_permitted
