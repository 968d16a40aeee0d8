"""Retry with exponential backoff for registry and Harbor calls.

A registry behind a load balancer answers 502/503 while a node restarts; a retried call usually
succeeds. PIPEYARD_RETRIES and PIPEYARD_RETRY_BACKOFF tune it (tests use tiny waits).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import tenacity

from pipeyard_kit.errors import ConfigError

T = TypeVar("T")

# Statuses worth a retry: the server or a proxy in front of it is briefly unwell.
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})


class Transient(Exception):
    """A failure that may pass: a 5xx answer or a broken connection."""

    def __init__(self, detail: str, *, status: int | None = None, connection: bool = False):
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.connection = connection


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    initial: float = 0.5
    maximum: float = 8.0

    @classmethod
    def from_env(cls) -> RetryPolicy:
        try:
            attempts = int(os.environ.get("PIPEYARD_RETRIES", cls.attempts))
            initial = float(os.environ.get("PIPEYARD_RETRY_BACKOFF", cls.initial))
        except ValueError:
            raise ConfigError(
                "PIPEYARD_RETRIES must be an integer and PIPEYARD_RETRY_BACKOFF a number of seconds",
                fix="fix or unset them",
            ) from None
        if attempts < 1 or initial < 0:
            raise ConfigError("PIPEYARD_RETRIES must be at least 1 and PIPEYARD_RETRY_BACKOFF not negative",
                              fix="fix or unset them")
        return cls(attempts, initial, max(cls.maximum, initial))

    def call(self, fn: Callable[[], T], on_retry: Callable[[Transient, int], None] | None = None) -> T:
        """Run fn, retrying on Transient; the last Transient is re-raised when attempts run out.

        on_retry(exc, attempt) is called before each wait, with the number of the attempt that failed.
        """

        def before_sleep(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            if on_retry and isinstance(exc, Transient):
                on_retry(exc, state.attempt_number)

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.attempts),
            wait=tenacity.wait_exponential(multiplier=self.initial, max=self.maximum),
            retry=tenacity.retry_if_exception_type(Transient),
            before_sleep=before_sleep,
            reraise=True,
        )
        return retrying(fn)
