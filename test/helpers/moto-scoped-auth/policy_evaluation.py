"""AWS's policy evaluation logic for identity-based policies in one account (tests only).

Pure: no moto import. sitecustomize.py hands it the caller's policy documents, the action, the
resource ARN and the request context; test_policy_evaluation.py checks it against the examples in
AWS's documentation. The rules, and where AWS documents them:

- Policy evaluation logic (IAM User Guide, reference_policies_evaluation-logic.html): every request
  starts implicitly denied; an explicit Deny in any applicable statement wins; otherwise an Allow in
  any applicable statement allows; otherwise the implicit deny stands. A statement applies only when
  its Action (or NotAction), its Resource (or NotResource) and its whole Condition block match, so a
  failed condition makes the statement neutral, whether it allows or denies.
- Action and Resource matching (reference_policies_elements_action.html, _resource.html): `*` matches
  any run of characters and `?` exactly one; action names are case-insensitive, ARNs are not.
- Condition block (reference_policies_elements_condition_operators.html and
  reference_policies_condition-logic-multiple-context-keys-or-values.html): several operators, and
  several keys under one operator, are ANDed; several values for one key are ORed. "If the key that you
  specify in a policy condition is not present in the request context, the values do not match and the
  condition is false. If the policy condition requires that the key is not matched, such as
  StringNotLike or ArnNotLike, and the right key is not present, the condition is true. This logic
  applies to all condition operators except ...IfExists and Null check." A negated operator with
  several values is true when the request value matches none of them. `...IfExists` is true when the
  key is missing. `Null: true` is true when the key is missing, `Null: false` when it is present.
- Multivalued keys (reference_policies_condition-single-vs-multi-valued-context-keys.html):
  ForAnyValue is false for a missing or empty key; ForAllValues is true for it.

An operator this module doesn't know makes the statement fail closed: an Allow doesn't apply, a
Deny does. Resource-based policies, permission boundaries, SCPs and session policies are not
modelled: keyrot's roles have none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

ALLOW = "Allow"
EXPLICIT_DENY = "ExplicitDeny"
IMPLICIT_DENY = "ImplicitDeny"


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def wildcard_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """`*` is any run of characters (`/` and `:` included), `?` is one character; nothing else is special."""
    regex = "".join(
        ".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern
    )
    flags = (re.IGNORECASE | re.DOTALL) if ignore_case else re.DOTALL
    return re.fullmatch(regex, value, flags) is not None


def _arn_match(pattern: str, value: str) -> bool:
    """ArnLike: each of the six colon-separated ARN parts is matched with wildcards on its own."""
    pattern_parts = pattern.split(":", 5)
    value_parts = value.split(":", 5)
    if len(pattern_parts) != 6 or len(value_parts) != 6:
        return wildcard_match(pattern, value)
    return all(wildcard_match(p, v) for p, v in zip(pattern_parts, value_parts))


def _bool_text(value: Any) -> str:
    return str(value).lower()


# Positive operators: (expected value from the policy, value from the request) -> match.
_POSITIVE = {
    "StringEquals": lambda e, a: str(a) == str(e),
    "StringEqualsIgnoreCase": lambda e, a: str(a).lower() == str(e).lower(),
    "StringLike": lambda e, a: wildcard_match(str(e), str(a)),
    "ArnEquals": lambda e, a: _arn_match(str(e), str(a)),
    "ArnLike": lambda e, a: _arn_match(str(e), str(a)),
    "Bool": lambda e, a: _bool_text(a) == _bool_text(e),
}
# Negated operators and the positive operator they negate.
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


class UnknownOperator(Exception):
    pass


def _split_operator(operator: str) -> tuple[str | None, str, bool]:
    qualifier = None
    for prefix in ("ForAllValues:", "ForAnyValue:"):
        if operator.startswith(prefix):
            qualifier, operator = prefix[:-1], operator[len(prefix):]
    if_exists = operator.endswith("IfExists") and operator != "Null"
    if if_exists:
        operator = operator[: -len("IfExists")]
    return qualifier, operator, if_exists


def _single(operator: str, expected: list[Any], actual: Any) -> bool:
    """One request value against the policy's values (ORed), for a present key."""
    if operator in _POSITIVE:
        return any(_POSITIVE[operator](e, actual) for e in expected)
    if operator in _NEGATED:
        positive = _POSITIVE[_NEGATED[operator]]
        return not any(positive(e, actual) for e in expected)
    raise UnknownOperator(operator)


def condition_holds(operator: str, key: str, expected_raw: Any, context: Mapping[str, Any]) -> bool:
    """One operator on one key, as IAM evaluates it."""
    expected = _as_list(expected_raw)
    qualifier, name, if_exists = _split_operator(operator)
    present = key in context and context[key] is not None
    if name == "Null":
        # "true": the key must be absent; "false": it must be present (and not empty).
        wants_absent = _bool_text(expected[0]) == "true" if expected else False
        if present and isinstance(context[key], list) and not context[key]:
            present = False
        return (not present) if wants_absent else present
    if name not in _POSITIVE and name not in _NEGATED:
        raise UnknownOperator(operator)
    values = _as_list(context[key]) if present else []
    if qualifier == "ForAllValues":
        # Every request value must match; vacuously true for a missing or empty key.
        return all(_single(name, expected, v) for v in values)
    if qualifier == "ForAnyValue":
        return any(_single(name, expected, v) for v in values)
    if not present:
        if if_exists:
            return True
        return name in _NEGATED
    if isinstance(context[key], list):
        # A multivalued key without a set operator: AWS matches if any value matches.
        return any(_single(name, expected, v) for v in values)
    return _single(name, expected, context[key])


def conditions_hold(conditions: Mapping[str, Mapping[str, Any]] | None, context: Mapping[str, Any]) -> bool:
    for operator, entries in (conditions or {}).items():
        for key, expected in entries.items():
            if not condition_holds(operator, key, expected, context):
                return False
    return True


def _element_matches(statement: Mapping[str, Any], name: str, value: str, ignore_case: bool) -> bool | None:
    """True/False when the statement has `name` or `Not<name>`; None when it has neither."""
    if name in statement:
        return any(wildcard_match(p, value, ignore_case) for p in _as_list(statement[name]))
    if f"Not{name}" in statement:
        return not any(wildcard_match(p, value, ignore_case) for p in _as_list(statement[f"Not{name}"]))
    return None


def statement_applies(statement: Mapping[str, Any], action: str, resource: str, context: Mapping[str, Any]) -> bool:
    if not _element_matches(statement, "Action", action, ignore_case=True):
        return False
    # An identity policy needs a Resource or NotResource; one without either applies to nothing.
    if not _element_matches(statement, "Resource", resource, ignore_case=False):
        return False
    return conditions_hold(statement.get("Condition"), context)


def _statements(policies: Iterable[Mapping[str, Any]]) -> Iterable[Mapping[str, Any]]:
    for policy in policies:
        yield from _as_list(policy.get("Statement"))


def evaluate(
    policies: Sequence[Mapping[str, Any]],
    action: str,
    resource: str,
    context: Mapping[str, Any] | None = None,
) -> str:
    """ALLOW, EXPLICIT_DENY or IMPLICIT_DENY for one request against identity policy documents."""
    context = context or {}
    allowed = False
    for statement in _statements(policies):
        effect = statement.get("Effect")
        try:
            applies = statement_applies(statement, action, resource, context)
        except UnknownOperator:
            # Fail closed: an Allow we can't evaluate doesn't allow; a Deny we can't evaluate denies.
            applies = effect == "Deny"
        if not applies:
            continue
        if effect == "Deny":
            return EXPLICIT_DENY
        if effect == "Allow":
            allowed = True
    return ALLOW if allowed else IMPLICIT_DENY


__all__ = [
    "ALLOW",
    "EXPLICIT_DENY",
    "IMPLICIT_DENY",
    "condition_holds",
    "evaluate",
    "wildcard_match",
]
