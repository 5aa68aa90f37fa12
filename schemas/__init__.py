"""Pydantic models of everything that crosses the boundary."""
