"""The docs are a source of truth too: every rule documented, its examples true, the README in step."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from leaklint.config import Config
from leaklint.core import check_source
from leaklint.rules import ALL_RULES, DOC_SECTIONS, FILE_NOT_ANALYSED, Rule

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
CI_SCRIPT = ROOT / ".ci" / "run"

RULE_IDS = [rule.code for rule in ALL_RULES]


def test_rules_are_sorted_and_unique() -> None:
    assert RULE_IDS == sorted(RULE_IDS)
    assert len(set(RULE_IDS)) == len(RULE_IDS)
    names = [rule.name for rule in ALL_RULES]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("rule", ALL_RULES, ids=RULE_IDS)
def test_code_and_name(rule: Rule) -> None:
    assert re.fullmatch(r"LL\d{3}", rule.code)
    assert re.fullmatch(r"[a-z]+(-[a-z]+)+", rule.name), "kebab-case, at least two words"
    assert rule.summary.strip() and "\n" not in rule.summary
    assert rule.summary.endswith(".")


@pytest.mark.parametrize("rule", ALL_RULES, ids=RULE_IDS)
def test_docs_have_every_section_in_order(rule: Rule) -> None:
    headings = re.findall(r"^## (.+)$", rule.docs, flags=re.MULTILINE)
    assert headings == list(DOC_SECTIONS)
    for section in re.split(r"^## .+$", rule.docs, flags=re.MULTILINE)[1:]:
        assert section.strip(), "no empty section"


@pytest.mark.parametrize("rule", ALL_RULES, ids=RULE_IDS)
def test_docs_show_the_examples(rule: Rule) -> None:
    """The code blocks under Example / Use instead are the examples that the tests run."""
    assert rule.bad_example and rule.good_example
    assert rule.bad_example.strip() in rule.docs.split("## Use instead")[0]
    assert rule.good_example.strip() in rule.docs.split("## Use instead")[1]


def _codes(source: str) -> list[str]:
    result = check_source(source, "example.py", Config())
    assert result.internal_error is None, result.internal_error
    return [finding.code for finding in result.findings]


@pytest.mark.parametrize("rule", ALL_RULES, ids=RULE_IDS)
def test_bad_example_triggers_the_rule(rule: Rule) -> None:
    assert rule.code in _codes(rule.bad_example)


@pytest.mark.parametrize("rule", ALL_RULES, ids=RULE_IDS)
def test_good_example_does_not(rule: Rule) -> None:
    assert _codes(rule.good_example) == []


def test_ll900_bad_example_is_a_syntax_error() -> None:
    """LL900's examples are not leaks but files: the bad one must not parse."""
    findings = check_source(FILE_NOT_ANALYSED.bad_example, "example.py", Config()).findings
    assert [f.code for f in findings] == ["LL900"]
    assert "syntax error" in findings[0].message
    compile(FILE_NOT_ANALYSED.good_example, "example.py", "exec")


def _readme_rule_rows() -> dict[str, tuple[str, str]]:
    rows = {}
    for line in README.read_text("utf-8").splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and re.fullmatch(r"LL\d{3}", cells[0]):
            rows[cells[0]] = (cells[1], cells[2])
    return rows


def test_readme_rule_table_is_the_rule_set() -> None:
    rows = _readme_rule_rows()
    assert list(rows) == RULE_IDS, "one README row per rule, in order, and none for rules that do not exist"
    for rule in ALL_RULES:
        assert rows[rule.code][0] == rule.name


def _readme_test_command() -> str:
    text = README.read_text("utf-8")
    section = text.split("## Tests", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(?:sh|bash|console)?\n(.*?)```", section, flags=re.DOTALL)
    commands = [line.strip() for block in blocks for line in block.splitlines() if line.strip()]
    assert commands, "the README's Tests section shows the command"
    return commands[-1]


def test_readme_test_command_is_the_one_ci_runs() -> None:
    command = _readme_test_command()
    assert command == "python -m pytest"
    lines = [line.strip() for line in CI_SCRIPT.read_text("utf-8").splitlines()]
    assert command in lines, "the CI script runs the README's command, verbatim, on a line of its own"


def test_readme_documents_every_config_key() -> None:
    from leaklint.config import _KNOWN_KEYS

    text = README.read_text("utf-8")
    for key in _KNOWN_KEYS:
        assert f"`{key}`" in text, key


def test_readme_rule_table_is_generated_from_the_rules() -> None:
    """The table is `leaklint rules --format markdown`, verbatim, under its marker comment."""
    from leaklint.report import rule_table

    text = README.read_text("utf-8")
    marker = "<!-- The table is generated: `leaklint rules --format markdown`"
    assert marker in text
    after = text.split(marker, 1)[1].split("\n", 1)[1]
    table = after.split("\n\n", 1)[0] + "\n"
    assert table == rule_table(), "stale: paste `leaklint rules --format markdown` into the README"
