"""schemathesis against our OpenAPI schema, over a real socket: no 5xx, responses as declared.

The server runs with no workers: generated crawls are created and queued but never fetched, so
fuzzing cannot make the crawler reach any address.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

import pytest

from docspasta.settings import Settings
from tests.api.conftest import start_service, stop_service

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
    ]
)


@pytest.mark.timeout(300)
async def test_schemathesis_finds_no_server_error_and_no_schema_mismatch(
    settings: Settings, tmp_path: Path
) -> None:
    service, task = await start_service(settings, local_workers=0)
    try:
        binary = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
        assert binary is not None, "schemathesis is a dev dependency"
        process = await asyncio.create_subprocess_exec(
            binary,
            "run",
            f"{service.base_url}/openapi.json",
            "--checks",
            CHECKS,
            "--max-examples",
            "25",
            "--request-timeout",
            "15",
            "--phases",
            "examples,coverage,fuzzing",
            "--no-color",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=tmp_path,
        )
        async with asyncio.timeout(240):
            output, _ = await process.communicate()
        report = output.decode(errors="replace")
        assert process.returncode == 0, report[-6000:]
        assert "No issues found" in report or "passed" in report.lower(), report[-3000:]
    finally:
        await stop_service(service, task)
