"""The V5 service: FastAPI app, routes, identity, progress streams."""

from docspasta.api.app import create_app
from docspasta.api.server import Server, build_server

__all__ = ["Server", "build_server", "create_app"]
