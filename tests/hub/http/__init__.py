"""Tests of the HTTP app, through a real uvicorn server on loopback."""
