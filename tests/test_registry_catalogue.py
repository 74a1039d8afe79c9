"""The catalogue of resources: the stdlib inventory accounts for every item it finds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
INVENTORY = ROOT / "tools" / "stdlib_inventory.md"


def test_committed_inventory_accounts_for_every_item() -> None:
    rows = [line for line in INVENTORY.read_text(encoding="utf-8").splitlines()
            if line.startswith("| `")]
    assert len(rows) > 400, "the inventory lost its items"
    unaccounted = [row for row in rows if row.rstrip().endswith("UNACCOUNTED |")]
    assert not unaccounted, unaccounted


@pytest.mark.slow  # walks the stdlib's sources: about 12 s of CPU
@pytest.mark.skipif(
    f"CPython {sys.version_info.major}.{sys.version_info.minor}'s" not in INVENTORY.read_text(),
    reason="the committed inventory was made from another CPython",
)
def test_inventory_is_current() -> None:
    """The script over this CPython, the registry and the reasons gives the committed file."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "stdlib_inventory.py"), "--check"],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_readme_registry_table_is_current() -> None:
    """The README's coverage table is the one tools/registry_table.py makes from the registry."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "registry_table.py"), "--check"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_every_third_party_entry_says_where_its_claim_comes_from() -> None:
    from leaklint.resources import builtin_registry

    missing = [
        name for name, resource in builtin_registry().by_name.items()
        if name.split(".", 1)[0] not in sys.stdlib_module_names | {"builtins"}
        and resource.tracked and not resource.source
        and name.split(".", 1)[0] not in _BEFORE_ISSUE_22
    ]
    assert not missing, f"third-party entries without a source: {missing}"


#: packages registered before the catalogue asked every entry for its source
_BEFORE_ISSUE_22 = frozenset(
    {"requests", "httpx", "urllib3", "paramiko", "psycopg", "psycopg2", "psycopg_pool",
     "pymysql", "mysql", "redis", "sqlalchemy", "aiohttp", "asyncpg", "aiosqlite", "aiofiles",
     "anyio", "websockets"}
)
