"""policy_evaluation against the examples and rules in AWS's IAM User Guide (run by pytest, from
test/unit/moto-shim.test.ts under `npm test`). Each test names the page it comes from."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from policy_evaluation import (  # noqa: E402
    ALLOW,
    EXPLICIT_DENY,
    IMPLICIT_DENY,
    condition_holds,
    evaluate,
    wildcard_match,
)

ACCOUNT = "123456789012"
MACHINE_USER = f"arn:aws:iam::{ACCOUNT}:user/machine/ci"
HUMAN_USER = f"arn:aws:iam::{ACCOUNT}:user/alice"
SECRET = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:keyrot/ci-AbCdEf"


def policy(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


# --- reference_policies_evaluation-logic.html: deny > allow > implicit deny -------------------------


def test_a_request_no_statement_allows_is_implicitly_denied():
    assert evaluate([], "iam:CreateAccessKey", MACHINE_USER) == IMPLICIT_DENY
    allow_other = policy({"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"})
    assert evaluate([allow_other], "iam:CreateAccessKey", MACHINE_USER) == IMPLICIT_DENY


def test_an_allow_allows():
    allow = policy({"Effect": "Allow", "Action": "iam:CreateAccessKey", "Resource": MACHINE_USER})
    assert evaluate([allow], "iam:CreateAccessKey", MACHINE_USER) == ALLOW


def test_an_explicit_deny_in_any_policy_overrides_every_allow():
    allow = policy({"Effect": "Allow", "Action": "*", "Resource": "*"})
    deny = policy({"Effect": "Deny", "Action": "iam:DeleteAccessKey", "Resource": "*"})
    assert evaluate([allow, deny], "iam:DeleteAccessKey", MACHINE_USER) == EXPLICIT_DENY
    assert evaluate([deny, allow], "iam:DeleteAccessKey", MACHINE_USER) == EXPLICIT_DENY
    assert evaluate([allow, deny], "iam:ListUsers", MACHINE_USER) == ALLOW


def test_statement_order_and_policy_split_do_not_matter():
    statements = [
        {"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "secretsmanager:DeleteSecret", "Resource": "*"},
    ]
    for documents in ([policy(*statements)], [policy(*reversed(statements))], [policy(s) for s in statements]):
        assert evaluate(documents, "secretsmanager:DeleteSecret", SECRET) == EXPLICIT_DENY
        assert evaluate(documents, "secretsmanager:GetSecretValue", SECRET) == ALLOW


# --- A failed condition makes its statement neutral (not a Deny) -----------------------------------


def test_an_allow_whose_condition_fails_is_neutral_and_other_allows_still_apply():
    tagged_only = {
        "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:ResourceTag/team": "data"}},
    }
    unconditioned = {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": SECRET}
    context = {"aws:ResourceTag/team": "platform"}
    assert evaluate([policy(tagged_only)], "secretsmanager:GetSecretValue", SECRET, context) == IMPLICIT_DENY
    assert evaluate([policy(tagged_only, unconditioned)], "secretsmanager:GetSecretValue", SECRET, context) == ALLOW
    assert evaluate([policy(unconditioned), policy(tagged_only)], "secretsmanager:GetSecretValue", SECRET, context) == ALLOW


def test_a_deny_whose_condition_fails_does_not_deny():
    # reference_policies_examples_aws_deny-ip.html shape: deny unless the request comes from a range.
    allow = {"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"}
    deny_other_team = {
        "Effect": "Deny",
        "Action": "*",
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:PrincipalTag/team": "contractors"}},
    }
    assert evaluate([policy(allow, deny_other_team)], "iam:ListUsers", "*", {"aws:PrincipalTag/team": "platform"}) == ALLOW
    assert (
        evaluate([policy(allow, deny_other_team)], "iam:ListUsers", "*", {"aws:PrincipalTag/team": "contractors"})
        == EXPLICIT_DENY
    )


# --- reference_policies_elements_action.html / _resource.html: matching ------------------------------


def test_actions_match_case_insensitively_with_wildcards():
    allow = policy({"Effect": "Allow", "Action": ["iam:List*", "IAM:getaccesskeylastused"], "Resource": "*"})
    assert evaluate([allow], "iam:ListAccessKeys", MACHINE_USER) == ALLOW
    assert evaluate([allow], "iam:GetAccessKeyLastUsed", MACHINE_USER) == ALLOW
    assert evaluate([allow], "iam:GetUser", MACHINE_USER) == IMPLICIT_DENY


def test_question_mark_matches_exactly_one_character():
    allow = policy({"Effect": "Allow", "Action": "iam:?etUser", "Resource": "*"})
    assert evaluate([allow], "iam:GetUser", MACHINE_USER) == ALLOW
    assert evaluate([allow], "iam:SetUser", MACHINE_USER) == ALLOW
    assert evaluate([allow], "iam:GetUsers", MACHINE_USER) == IMPLICIT_DENY


def test_resources_match_case_sensitively_and_wildcards_cross_path_separators():
    allow = policy({"Effect": "Allow", "Action": "iam:CreateAccessKey", "Resource": f"arn:aws:iam::{ACCOUNT}:user/machine/*"})
    assert evaluate([allow], "iam:CreateAccessKey", MACHINE_USER) == ALLOW
    assert evaluate([allow], "iam:CreateAccessKey", f"arn:aws:iam::{ACCOUNT}:user/machine/ci/deploy") == ALLOW
    assert evaluate([allow], "iam:CreateAccessKey", HUMAN_USER) == IMPLICIT_DENY
    assert evaluate([allow], "iam:CreateAccessKey", f"arn:aws:iam::{ACCOUNT}:user/Machine/ci") == IMPLICIT_DENY


def test_a_resource_array_allows_any_of_its_elements_and_star_in_it_allows_everything():
    allow = policy({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": ["*"]})
    assert evaluate([allow], "sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/Admin") == ALLOW


def test_not_action_allows_everything_except_the_listed_actions():
    # reference_policies_elements_notaction.html: "Allow" with NotAction.
    allow = policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    assert evaluate([allow], "secretsmanager:GetSecretValue", SECRET) == ALLOW
    assert evaluate([allow], "iam:CreateAccessKey", MACHINE_USER) == IMPLICIT_DENY


def test_not_resource_applies_to_every_resource_except_the_listed_ones():
    deny = policy(
        {"Effect": "Allow", "Action": "iam:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "iam:*", "NotResource": f"arn:aws:iam::{ACCOUNT}:user/machine/*"},
    )
    assert evaluate([deny], "iam:DeleteAccessKey", MACHINE_USER) == ALLOW
    assert evaluate([deny], "iam:DeleteAccessKey", HUMAN_USER) == EXPLICIT_DENY


def test_a_statement_without_resource_applies_to_nothing():
    assert evaluate([policy({"Effect": "Allow", "Action": "*"})], "iam:ListUsers", "*") == IMPLICIT_DENY


# --- reference_policies_condition-logic-multiple-context-keys-or-values.html -----------------------


def test_values_of_one_key_are_ored_and_keys_and_operators_are_anded():
    statement = {
        "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": "*",
        "Condition": {
            "StringEquals": {"aws:ResourceTag/team": ["data", "platform"], "aws:ResourceTag/env": "prod"},
            "StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/keyrot-*"},
        },
    }
    ok = {"aws:ResourceTag/team": "platform", "aws:ResourceTag/env": "prod", "aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/keyrot-rotate"}
    assert evaluate([policy(statement)], "secretsmanager:GetSecretValue", SECRET, ok) == ALLOW
    for key, bad in [("aws:ResourceTag/team", "sales"), ("aws:ResourceTag/env", "dev"), ("aws:PrincipalArn", f"arn:aws:iam::{ACCOUNT}:role/other")]:
        assert evaluate([policy(statement)], "secretsmanager:GetSecretValue", SECRET, {**ok, key: bad}) == IMPLICIT_DENY


# --- reference_policies_elements_condition_operators.html: missing keys ----------------------------


@pytest.mark.parametrize(
    "operator, expected",
    [
        ("StringEquals", "x"),
        ("StringEqualsIgnoreCase", "x"),
        ("StringLike", "*"),
        ("ArnEquals", "arn:*"),
        ("ArnLike", "arn:*"),
        ("Bool", "true"),
    ],
)
def test_a_positive_operator_on_a_missing_key_is_false(operator, expected):
    # "If the key ... is not present in the request context, the values do not match and the condition is false."
    assert condition_holds(operator, "aws:ResourceTag/keyrot:user", expected, {}) is False


@pytest.mark.parametrize(
    "operator",
    ["StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike"],
)
def test_a_negated_operator_on_a_missing_key_is_true(operator):
    # "If the policy condition requires that the key is not matched, such as StringNotLike or ArnNotLike,
    # and the right key is not present, the condition is true."
    assert condition_holds(operator, "aws:ResourceTag/keyrot:user", "x", {}) is True


def test_deny_string_not_equals_on_a_missing_tag_denies():
    # The documented consequence: a Deny with StringNotEquals catches requests that lack the key.
    statements = policy(
        {"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"},
        {
            "Effect": "Deny",
            "Action": "secretsmanager:*",
            "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:ResourceTag/owner": "keyrot"}},
        },
    )
    assert evaluate([statements], "secretsmanager:GetSecretValue", SECRET, {}) == EXPLICIT_DENY
    assert evaluate([statements], "secretsmanager:GetSecretValue", SECRET, {"aws:ResourceTag/owner": "keyrot"}) == ALLOW


def test_a_negated_operator_with_several_values_is_true_only_when_none_match():
    assert condition_holds("StringNotEquals", "k", ["a", "b"], {"k": "c"}) is True
    assert condition_holds("StringNotEquals", "k", ["a", "b"], {"k": "b"}) is False
    assert condition_holds("StringNotLike", "k", ["a*", "b*"], {"k": "bee"}) is False


def test_if_exists_is_true_when_the_key_is_missing_and_evaluated_when_present():
    # The documented example: StringLikeIfExists on ec2:InstanceType.
    statement = policy(
        {
            "Effect": "Allow",
            "Action": "ec2:RunInstances",
            "Resource": "*",
            "Condition": {"StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}},
        }
    )
    assert evaluate([statement], "ec2:RunInstances", "*", {}) == ALLOW
    assert evaluate([statement], "ec2:RunInstances", "*", {"ec2:InstanceType": "t2.micro"}) == ALLOW
    assert evaluate([statement], "ec2:RunInstances", "*", {"ec2:InstanceType": "m5.large"}) == IMPLICIT_DENY
    assert condition_holds("StringNotEqualsIfExists", "k", "a", {}) is True
    assert condition_holds("StringNotEqualsIfExists", "k", "a", {"k": "a"}) is False


def test_null_checks_whether_the_key_is_present():
    # "Null": {"aws:TokenIssueTime": "true"} holds for long-term credentials, which have no such key.
    assert condition_holds("Null", "aws:TokenIssueTime", "true", {}) is True
    assert condition_holds("Null", "aws:TokenIssueTime", "true", {"aws:TokenIssueTime": "2026-01-01T00:00:00Z"}) is False
    assert condition_holds("Null", "aws:TokenIssueTime", "false", {}) is False
    assert condition_holds("Null", "aws:TokenIssueTime", "false", {"aws:TokenIssueTime": "2026-01-01T00:00:00Z"}) is True
    assert condition_holds("Null", "aws:TokenIssueTime", True, {}) is True


def test_string_like_star_on_a_tag_requires_the_tag_to_exist():
    # keyrot's own condition: StringLike secretsmanager:ResourceTag/keyrot:user "*".
    assert condition_holds("StringLike", "secretsmanager:ResourceTag/keyrot:user", "*", {"secretsmanager:ResourceTag/keyrot:user": "ci"}) is True
    assert condition_holds("StringLike", "secretsmanager:ResourceTag/keyrot:user", "*", {}) is False


def test_string_equals_is_case_sensitive_and_literal():
    assert condition_holds("StringEquals", "kms:ViaService", "secretsmanager.us-east-1.amazonaws.com", {"kms:ViaService": "SecretsManager.us-east-1.amazonaws.com"}) is False
    assert condition_holds("StringEquals", "k", "a*", {"k": "abc"}) is False
    assert condition_holds("StringEqualsIgnoreCase", "k", "ABC", {"k": "abc"}) is True


def test_arn_like_matches_each_arn_part_on_its_own():
    assert condition_holds("ArnLike", "aws:SourceArn", "arn:aws:iam::*:user/machine/*", {"aws:SourceArn": MACHINE_USER}) is True
    assert condition_holds("ArnLike", "aws:SourceArn", "arn:aws:iam::*:user/machine/*", {"aws:SourceArn": HUMAN_USER}) is False
    assert condition_holds("ArnLike", "aws:SourceArn", "arn:aws:iam::*:role/*", {"aws:SourceArn": MACHINE_USER}) is False


# --- reference_policies_condition-single-vs-multi-valued-context-keys.html -------------------------


def test_for_all_values_is_true_for_a_missing_key_and_for_any_value_is_false():
    assert condition_holds("ForAllValues:StringEquals", "aws:TagKeys", ["owner", "team"], {}) is True
    assert condition_holds("ForAnyValue:StringEquals", "aws:TagKeys", ["owner", "team"], {}) is False
    assert condition_holds("ForAllValues:StringEquals", "aws:TagKeys", ["owner", "team"], {"aws:TagKeys": ["owner"]}) is True
    assert condition_holds("ForAllValues:StringEquals", "aws:TagKeys", ["owner", "team"], {"aws:TagKeys": ["owner", "x"]}) is False
    assert condition_holds("ForAnyValue:StringEquals", "aws:TagKeys", ["owner", "team"], {"aws:TagKeys": ["x", "team"]}) is True


# --- Fail closed on what this module does not know ------------------------------------------------


def test_an_unknown_operator_never_allows_and_always_denies():
    allow = {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}}
    assert evaluate([policy(allow)], "iam:ListUsers", "*", {"aws:CurrentTime": "2026-01-01T00:00:00Z"}) == IMPLICIT_DENY
    deny = {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}}
    assert evaluate([policy({"Effect": "Allow", "Action": "*", "Resource": "*"}, deny)], "iam:ListUsers", "*", {}) == EXPLICIT_DENY


def test_wildcards_are_the_only_special_characters():
    assert wildcard_match("keyrot/ci.+", "keyrot/ci.+") is True
    assert wildcard_match("keyrot/ci.+", "keyrot/ciXX") is False
    assert wildcard_match("keyrot/[ab]", "keyrot/a") is False
