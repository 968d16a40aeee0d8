"""Retry with exponential backoff for registry and Harbor calls.

A registry behind a load balancer answers 502/503 while a node restarts; a retried call usually
succeeds. A 429 (or a 503) with Retry-After is retried after the wait it names (RFC 9110 section
10.2.3; Docker Hub and Harbor's rate limits send it), unless that is longer than
PIPEYARD_RETRY_AFTER_MAX seconds (60): then the call fails at once, saying how long the registry asked
to wait. PIPEYARD_RETRIES and PIPEYARD_RETRY_BACKOFF tune the rest (tests use tiny waits).
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

    def __init__(self, detail: str, *, status: int | None = None, connection: bool = False,
                 retry_after: float | None = None):
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.connection = connection
        self.retry_after = retry_after  # seconds the server asked to wait, if it said


class WaitTooLong(Exception):
    """The server asked for a wait longer than the policy accepts."""

    def __init__(self, transient: Transient, limit: float):
        super().__init__(transient.detail)
        self.transient = transient
        self.limit = limit


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    initial: float = 0.5
    maximum: float = 8.0
    max_retry_after: float = 60.0

    @classmethod
    def from_env(cls) -> RetryPolicy:
        try:
            attempts = int(os.environ.get("PIPEYARD_RETRIES", cls.attempts))
            initial = float(os.environ.get("PIPEYARD_RETRY_BACKOFF", cls.initial))
            longest = float(os.environ.get("PIPEYARD_RETRY_AFTER_MAX", cls.max_retry_after))
        except ValueError:
            raise ConfigError(
                "PIPEYARD_RETRIES must be an integer, PIPEYARD_RETRY_BACKOFF and PIPEYARD_RETRY_AFTER_MAX "
                "numbers of seconds",
                fix="fix or unset them",
            ) from None
        if attempts < 1 or initial < 0 or longest < 0:
            raise ConfigError("PIPEYARD_RETRIES must be at least 1, PIPEYARD_RETRY_BACKOFF and "
                              "PIPEYARD_RETRY_AFTER_MAX not negative",
                              fix="fix or unset them")
        return cls(attempts, initial, max(cls.maximum, initial), longest)

    def call(self, fn: Callable[[], T], on_retry: Callable[[Transient, int], None] | None = None) -> T:
        """Run fn, retrying on Transient; the last Transient is re-raised when attempts run out.

        on_retry(exc, attempt) is called before each wait, with the number of the attempt that failed.
        """

        backoff = tenacity.wait_exponential(multiplier=self.initial, max=self.maximum)

        def asked(state: tenacity.RetryCallState) -> float | None:
            exc = state.outcome.exception() if state.outcome else None
            return exc.retry_after if isinstance(exc, Transient) else None

        def wait(state: tenacity.RetryCallState) -> float:
            after = asked(state)
            return after if after is not None else backoff(state)

        def before_sleep(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            if on_retry and isinstance(exc, Transient):
                on_retry(exc, state.attempt_number)

        def too_long(state: tenacity.RetryCallState) -> bool:
            after = asked(state)
            return after is not None and after > self.max_retry_after

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.attempts) | too_long,
            wait=wait,
            retry=tenacity.retry_if_exception_type(Transient),
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            return retrying(fn)
        except Transient as exc:
            if exc.retry_after is not None and exc.retry_after > self.max_retry_after:
                raise WaitTooLong(exc, self.max_retry_after) from None
            raise
