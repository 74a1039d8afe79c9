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
