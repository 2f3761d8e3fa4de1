"""The ``docspasta`` command's entry point: start fast, end fast.

- The command line is imported with the cyclic garbage collector paused, and what the import
  built is then frozen (``gc.freeze``): ~70,000 objects that live as long as the process, which
  full collections would otherwise walk again and again during a crawl.
- ``docspasta crawl`` starts its token counter (``analysis_worker.start_counter``) before
  anything else is imported: the counter's encoding is built while the command line and the
  crawl runtime are imported, and the start page's analysis does not wait for it.
- After the command, the process exits at once (``os._exit``) instead of tearing the
  interpreter down object by object.
- ``docspasta.cli`` is imported here, when the command runs, not at module level: this module
  is what the console script imports.
"""

from __future__ import annotations


def main() -> None:
    import gc
    import os
    import sys

    args = sys.argv[1:]
    if (
        args[:1] == ["crawl"]
        and "--help" not in args
        and os.environ.get("DOCSPASTA_ANALYSIS_PROCESSES", "").strip() != "0"
    ):
        # The token counter builds its encoding (~0.25 s) while the command line and the crawl
        # runtime are imported (~0.5 s), instead of after: the start page's analysis no longer
        # waits for it. The crawl's analyzer takes it; any other end of the command ends it.
        # ``Settings.analysis_processes`` from the environment: 0 means no workers, so none is
        # started (pydantic-settings is too slow to import here just for that).
        from docspasta.analysis_worker import start_counter

        start_counter()

    # Importing the command creates ~70,000 objects the cyclic collector tracks; they live as
    # long as the process and none is garbage, yet full collections would walk them again and
    # again (172 -> 87 ms of collections in a 1,169-page crawl). Collect nothing while
    # importing, then freeze what was built.
    gc.disable()
    try:
        from docspasta.cli import main as run
    finally:
        gc.freeze()
        gc.enable()
    try:
        run()  # the command ends by raising SystemExit (typer's standalone mode)
    except SystemExit as end:
        code = end.code
    else:
        code = 0
    _exit(code)


def _exit(code: object) -> None:
    """Exit with ``code`` without tearing the interpreter down: the command has closed its
    files, database and workers by now, and freeing ~900 modules' objects one by one only
    delays the shell's prompt (~0.15-0.2 s after a crawl)."""
    import logging
    import os
    import sys

    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # SystemExit("message"): Python prints it and exits with 1
        print(code, file=sys.stderr)
        status = 1
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (docspasta ... | head) or stream
            status = status or 1
    os._exit(status)
