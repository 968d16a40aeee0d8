"""The one error hierarchy of pipeyard.

Every failure a user can cause or fix is a PipeyardError whose message names the
setting (or file, or server) and the fix. The CLIs turn it into one line on stderr
and a non-zero exit; only --debug or TRACE=1 shows a traceback.
"""

from __future__ import annotations


class PipeyardError(Exception):
    """Root of every error pipeyard reports to a user."""

    exit_code = 1

    def __init__(self, message: str, *, fix: str | None = None):
        self.message = message
        self.fix = fix
        super().__init__(self.render())

    def render(self) -> str:
        return f"{self.message}: {self.fix}" if self.fix else self.message


class UsageError(PipeyardError):
    """A bad flag or argument; exits 2 like click's own usage errors."""

    exit_code = 2


class ConfigError(PipeyardError):
    """One or more settings are missing or invalid.

    Carries every problem found, so a user fixes them all in one round.
    """

    def __init__(self, problems: list[str] | str, *, fix: str | None = None):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        if len(self.problems) == 1:
            message = self.problems[0]
        else:
            message = f"{len(self.problems)} configuration problems:\n" + "\n".join(
                f"  - {p}" for p in self.problems
            )
        super().__init__(message, fix=fix)


class ModelError(PipeyardError):
    """A provider.yaml, site file or other pipeyard input file is malformed."""


class ValidationError(PipeyardError):
    """A rendered or consumer pipeline file does not validate."""


class RemoteError(PipeyardError):
    """A server (registry, Harbor, GitLab, Sonar, SMTP) is unreachable or refused."""


class BuildError(PipeyardError):
    """An image build, push or container run failed."""


class ChecksumError(BuildError):
    """A download does not match its pinned digest."""

    def __init__(self, name: str, expected: str, actual: str):
        super().__init__(
            f"checksum mismatch for {name}: expected sha256:{expected}, got sha256:{actual}",
            fix="check the mirror, or update the pinned sha256 if the new file is trusted",
        )
