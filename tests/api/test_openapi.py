"""schemathesis against our OpenAPI schema, over a real socket: no 5xx, responses as declared.

The server runs with no workers: generated crawls are created and queued but never fetched, so
fuzzing cannot make the crawler reach any address.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

from docspasta.api.server import build_server
from docspasta.settings import Settings

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
    ]
)


async def test_schemathesis_finds_no_server_error_and_no_schema_mismatch(
    settings: Settings, tmp_path: Path
) -> None:
    server = build_server(
        settings, host="127.0.0.1", port=0, local_workers=0, configure_logging=False
    )
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(20):
            while not server.started:
                await asyncio.sleep(0.01)
        binary = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
        assert binary is not None, "schemathesis is a dev dependency"
        process = await asyncio.create_subprocess_exec(
            binary,
            "run",
            f"http://127.0.0.1:{server.port}/openapi.json",
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
        server.begin_shutdown()
        async with asyncio.timeout(15):
            await task
