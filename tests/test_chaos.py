"""The chaos test's CI variant: bench/chaos.py on the real PostgreSQL, shortened."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CHAOS = Path(__file__).resolve().parent.parent / "bench" / "chaos.py"


@pytest.mark.postgres
@pytest.mark.timeout(240)
def test_killed_workers_and_cut_connections_lose_and_duplicate_nothing() -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(CHAOS),
            "--pages",
            "150",
            "--kills",
            "4",
            "--duplicates",
            "20",
            "--terminations",
            "1",
            "--timeout",
            "180",
        ],
        capture_output=True,
        text=True,
        timeout=230,
        check=False,
    )
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert result.returncode == 0, result.stdout + result.stderr
    assert summary["status"] == "completed"
    assert summary["kills"] == 4
    assert summary["duplicates_injected"] >= 20
    assert summary["connections_terminated"] > 0
    assert summary["pages_lost"] == 0
    assert summary["pages_duplicated"] == 0
    assert summary["pages_in_document"] == summary["pages_expected"] == 150
    assert summary["identical_to_clean_run"] is True
