"""Spark's webhook rate limits: the shared limiter of `hub.http.ratelimit`."""

from hub.http.ratelimit import WINDOW_S, Decision, SlidingWindowLimiter

__all__ = ["WINDOW_S", "Decision", "SlidingWindowLimiter"]
