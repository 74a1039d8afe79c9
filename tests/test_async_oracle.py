"""LL203 against CPython: a dropped clean-up coroutine warns 'was never awaited'."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from leaklint.config import Config
from leaklint.core import check_source

SOURCE = textwrap.dedent(
    """
    import asyncio
    import gc


    class Client:
        async def aclose(self):
            pass


    async def dropped():
        client = Client()
        client.aclose()


    async def awaited():
        client = Client()
        await client.aclose()


    if __name__ == "__main__":
        import sys

        asyncio.run(globals()[sys.argv[1]]())
        gc.collect()
    """
)


def _warnings_of(tmp_path: Path, function: str) -> str:
    script = tmp_path / "clients.py"
    script.write_text(SOURCE, encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-X", "dev", "-W", "always", str(script), function],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return out.stderr


def test_dropped_aclose_is_ll203_and_cpython_agrees(tmp_path: Path) -> None:
    findings = check_source(SOURCE, "clients.py", Config()).findings
    assert [(f.line, f.code) for f in findings] == [(13, "LL203")]
    assert "was never awaited" in _warnings_of(tmp_path, "dropped")
    assert "was never awaited" not in _warnings_of(tmp_path, "awaited")
