"""The ``docspasta`` command's entry point, kept to nothing on purpose.

The analysis pool's workers are spawned processes, and a spawned process imports its parent's
main script: the console script, which imports this module. Importing the command line here
would load typer, rich and pydantic-settings into every worker (about 10 MB each); the import
happens when the command runs instead.
"""

from __future__ import annotations


def main() -> None:
    from docspasta.cli import main as run

    run()
