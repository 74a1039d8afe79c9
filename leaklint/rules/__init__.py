"""Every rule leaklint has, in one explicit, sorted tuple (no import-time registration)."""

from __future__ import annotations

from leaklint.rules import (
    aenter_without_aexit,
    async_resource_not_released,
    cleanup_not_awaited,
    cleanup_skipped_on_error,
    context_manager_does_not_close,
    enter_without_exit_release,
    exit_swallows_exceptions,
    file_not_analysed,
    lock_not_released,
    owner_never_releases,
    pool_checkout_not_returned,
    protocol_mismatch,
    release_not_in_finally,
    resource_not_released,
    response_not_closed,
    sync_with_on_async_resource,
    unbound_resource,
    wrong_with_for_project_cm,
)
from leaklint.rules.base import DOC_SECTIONS, PATH_KINDS, Rule

ALL_RULES: tuple[Rule, ...] = (
    resource_not_released.RULE,
    release_not_in_finally.RULE,
    unbound_resource.RULE,
    context_manager_does_not_close.RULE,
    owner_never_releases.RULE,
    pool_checkout_not_returned.RULE,
    lock_not_released.RULE,
    response_not_closed.RULE,
    exit_swallows_exceptions.RULE,
    cleanup_skipped_on_error.RULE,
    enter_without_exit_release.RULE,
    protocol_mismatch.RULE,
    wrong_with_for_project_cm.RULE,
    async_resource_not_released.RULE,
    sync_with_on_async_resource.RULE,
    aenter_without_aexit.RULE,
    cleanup_not_awaited.RULE,
    file_not_analysed.RULE,
)

RULES_BY_CODE: dict[str, Rule] = {rule.code: rule for rule in ALL_RULES}
RULES_BY_LEAK_KIND: dict[str, Rule] = {
    kind: rule for rule in ALL_RULES for kind in rule.leak_kinds
}
FILE_NOT_ANALYSED = file_not_analysed.RULE


def rule_for(kind: str, resource_code: str) -> Rule:
    """The rule reporting a leak: the resource's own code for path leaks of pooled
    connections, locks and responses; otherwise the one for the kind of leak."""
    if resource_code and kind in PATH_KINDS:
        return RULES_BY_CODE[resource_code]
    return RULES_BY_LEAK_KIND[kind]

__all__ = ["rule_for", "ALL_RULES", "DOC_SECTIONS", "FILE_NOT_ANALYSED", "RULES_BY_CODE", "RULES_BY_LEAK_KIND", "Rule"]
