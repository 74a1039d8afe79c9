"""Every rule leaklint has, in one explicit, sorted tuple (no import-time registration)."""

from __future__ import annotations

from leaklint.rules import (
    file_not_analysed,
    owner_never_releases,
    release_not_in_finally,
    resource_not_released,
    unbound_resource,
)
from leaklint.rules.base import DOC_SECTIONS, Rule

ALL_RULES: tuple[Rule, ...] = (
    resource_not_released.RULE,
    release_not_in_finally.RULE,
    unbound_resource.RULE,
    owner_never_releases.RULE,
    file_not_analysed.RULE,
)

RULES_BY_CODE: dict[str, Rule] = {rule.code: rule for rule in ALL_RULES}
RULES_BY_LEAK_KIND: dict[str, Rule] = {
    kind: rule for rule in ALL_RULES for kind in rule.leak_kinds
}
FILE_NOT_ANALYSED = file_not_analysed.RULE

__all__ = ["ALL_RULES", "DOC_SECTIONS", "FILE_NOT_ANALYSED", "RULES_BY_CODE", "RULES_BY_LEAK_KIND", "Rule"]
