"""Pytest fixtures built on the test support servers (imported by tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.http import FixtureServer


@pytest.fixture
def fixture_server() -> Iterator[FixtureServer]:
    """A started ``FixtureServer`` with no routes, stopped after the test."""
    with FixtureServer() as server:
        yield server
