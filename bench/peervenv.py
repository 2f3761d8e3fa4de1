"""The peers' venv: Scrapy, html-to-markdown and trafilatura at the versions pinned in
bench/peers/requirements.txt, installed in the cache dir, never in the project's venv.

The venv is rebuilt when requirements.txt changes (its hash is stamped in the venv).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

REQUIREMENTS = Path(__file__).resolve().parent / "peers" / "requirements.txt"


def peers_python(cache_dir: Path) -> Path:
    """The python of a venv holding the pinned peers, creating or updating it if needed."""
    venv = cache_dir / "peers-venv"
    python = venv / "bin" / "python"
    stamp = venv / "requirements.sha256"
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if python.exists() and stamp.exists() and stamp.read_text().strip() == wanted:
        return python
    print(f"installing the peers into {venv} (pinned in {REQUIREMENTS.name})", flush=True)
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    installed = subprocess.run(
        [*pip, "-r", str(REQUIREMENTS)], capture_output=True, text=True, check=False
    )
    if installed.returncode != 0:  # pip's output only when it failed: it warns a lot
        sys.stderr.write(installed.stdout + installed.stderr)
        raise SystemExit(f"installing {REQUIREMENTS} failed (exit {installed.returncode})")
    stamp.write_text(wanted + "\n")
    return python
