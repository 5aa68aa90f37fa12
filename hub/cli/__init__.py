"""The `hub` command line."""

from hub.cli.main import app, main

__all__ = ["app", "main"]
