"""The git command line, authenticated by GITOPS_TOKEN without the token ever reaching a URL or a log.

The token travels as an http.<origin>.extraHeader set through GIT_CONFIG_COUNT in
git's environment: it is not in the remote URL (which git prints in errors), not in
.git/config, not on a command line (visible in ps), and only sent to the config
repository's own origin. The runner's global and system git config are ignored, so
an insteadOf rule carrying the job token (CI_JOB_TOKEN) cannot rewrite our remote.
Everything git prints is scrubbed before it is logged or raised.
"""

from __future__ import annotations

import base64
import logging
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from pipeyard_kit.errors import ConfigError, RemoteError

log = logging.getLogger("pipeyard.gitops")

MASK = "********"
_USERINFO = re.compile(r"(?i)\b(https?://)[^/\s@]+@")
# Variables worth passing on to git: locale-free output, proxies, the CA bundle; nothing else of the job.
_PASS_ENV = ("PATH", "TMPDIR", "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}/"


def display_url(url: str) -> str:
    return _USERINFO.sub(lambda m: f"{m.group(1)}{MASK}@", url)


class GitFailure(Exception):
    """A git command failed; `output` is already scrubbed."""

    def __init__(self, command: tuple[str, ...], output: str):
        self.command = command
        self.output = output
        super().__init__(f"git {' '.join(command)} failed: {output.strip()}")


@dataclass
class Git:
    workdir: Path
    url: str
    username: str
    token: str = field(repr=False)
    home: Path
    ca_file: str | None = None
    author_name: str = "pipeyard gitops"
    author_email: str = "gitops@pipeyard.invalid"

    def secrets(self) -> list[str]:
        basic = base64.b64encode(f"{self.username}:{self.token}".encode()).decode()
        return [s for s in (basic, self.token) if s]

    def scrub(self, text: str) -> str:
        for secret in self.secrets():
            text = text.replace(secret, MASK)
        return _USERINFO.sub(lambda m: f"{m.group(1)}{MASK}@", text)

    def env(self) -> dict[str, str]:
        env = {k: os.environ[k] for k in _PASS_ENV if k in os.environ}
        basic = base64.b64encode(f"{self.username}:{self.token}".encode()).decode()
        config = {
            f"http.{origin(self.url)}.extraHeader": f"Authorization: Basic {basic}",
            # No helper may offer other credentials (the job's, a cached one) after a 401.
            "credential.helper": "",
            "commit.gpgsign": "false",
            "core.hooksPath": os.devnull,
            "init.defaultBranch": "main",
            # A stalled server fails the job instead of hanging it until the runner's timeout.
            "http.lowSpeedLimit": "1000",
            "http.lowSpeedTime": "60",
        }
        env.update({
            "HOME": str(self.home),
            "LC_ALL": "C",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_AUTHOR_NAME": self.author_name,
            "GIT_AUTHOR_EMAIL": self.author_email,
            "GIT_COMMITTER_NAME": self.author_name,
            "GIT_COMMITTER_EMAIL": self.author_email,
            "GIT_CONFIG_COUNT": str(len(config)),
        })
        for i, (key, value) in enumerate(config.items()):
            env[f"GIT_CONFIG_KEY_{i}"] = key
            env[f"GIT_CONFIG_VALUE_{i}"] = value
        if self.ca_file:
            env["GIT_SSL_CAINFO"] = self.ca_file
        return env

    def run(self, *args: str, input: str | None = None) -> str:
        log.debug("git %s", " ".join(args))
        try:
            proc = subprocess.run(["git", *args], check=False, cwd=self.workdir, env=self.env(), input=input,
                                  capture_output=True, text=True, timeout=600)
        except FileNotFoundError:
            raise ConfigError("git is not installed", fix="run gitops-bump in the gitops provider image") from None
        except subprocess.TimeoutExpired:
            raise GitFailure(args, "fatal: git timed out after 600 s") from None
        if proc.returncode != 0:
            raise GitFailure(args, self.scrub(proc.stderr + proc.stdout))
        return proc.stdout

    def init(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.run("init", "-q")
        self.run("remote", "add", "origin", self.url)

    def fetch(self, branch: str) -> bool:
        """Fetch the tip of `branch` into refs/remotes/origin/; False when the branch does not exist."""
        refspec = f"+refs/heads/{branch}:refs/remotes/origin/{branch}"
        try:
            # Only the tip: a bump needs one file, and config repositories grow a commit per deploy.
            self.run("fetch", "-q", "--depth", "1", "--no-tags", "origin", refspec)
        except GitFailure as exc:
            if "couldn't find remote ref" in exc.output:
                return False
            raise
        return True

    def fetch_many(self, *branches: str) -> dict[str, str]:
        """Fetch the tips of several branches in one round trip; {branch: sha} of those that exist."""
        present = self.ls_remote(*branches)
        if present:
            specs = [f"+refs/heads/{b}:refs/remotes/origin/{b}" for b in present]
            try:
                self.run("fetch", "-q", "--depth", "1", "--no-tags", "origin", *specs)
            except GitFailure as exc:
                if "couldn't find remote ref" not in exc.output:
                    raise
                return self.fetch_many(*branches)  # deleted between the two calls: look again
        for branch in set(branches) - set(present):
            self.run("update-ref", "-d", f"refs/remotes/origin/{branch}")
        # What was fetched, which may be newer than what ls-remote saw a moment before.
        return {b: self.run("rev-parse", f"refs/remotes/origin/{b}").strip() for b in present}

    def ls_remote(self, *branches: str) -> dict[str, str]:
        """{branch: sha} of the given branches on the server, without fetching anything."""
        out = self.run("ls-remote", "--heads", "origin", *[f"refs/heads/{b}" for b in branches])
        tips = {}
        for line in out.splitlines():
            sha, _, ref = line.partition("\t")
            if ref.startswith("refs/heads/") and ref[len("refs/heads/"):] in branches:
                tips[ref[len("refs/heads/"):]] = sha
        return tips

    def head(self) -> str:
        return self.run("rev-parse", "HEAD").strip()


# What git says, mapped to what the user should do. Order matters: the first match wins.
_AUTH = ("authentication failed", "could not read username", "could not read password",
         "returned error: 401", "returned error: 403", "http basic: access denied")
_UNREACHABLE = ("could not resolve host", "failed to connect", "couldn't connect", "connection refused",
                "connection timed out", "operation timed out", "timed out", "ssl certificate problem",
                "unable to access", "empty reply from server", "network is unreachable")
_NOT_FOUND = ("returned error: 404", "' not found", "does not appear to be a git repository")
# A push that lost a race, in git's words. "moved": another push landed after our fetch (the branch
# is not where we left it), so someone made progress. "busy": another receive-pack held the ref's lock
# at that moment (git's lockfile.c, "Unable to create '...lock': File exists"), which may or may not
# have landed. Checked in this order.
_MOVED = ("(fetch first)", "(non-fast-forward)", "(stale info)", "incorrect old value", "but expected",
          "reference already exists")
_BUSY = ("unable to create", "file exists", "cannot lock ref", "failed to update ref", "failed to lock")


def race_kind(failure: GitFailure) -> str | None:
    """'moved', 'busy' or None (not a race) for a failed push."""
    text = failure.output.lower()
    if "rejected" not in text:
        return None
    if any(s in text for s in _MOVED):
        return "moved"
    if any(s in text for s in _BUSY):
        return "busy"
    return None


def is_race(failure: GitFailure) -> bool:
    return race_kind(failure) is not None


def explain(failure: GitFailure, *, url: str, branch: str) -> Exception:
    """One error that names the setting to fix; git's own words (scrubbed) only in the debug log."""
    text = failure.output.lower()
    shown = display_url(url)
    log.debug("git said: %s", failure.output.strip())
    if any(s in text for s in _AUTH):
        return ConfigError(f"the config repository {shown} refused GITOPS_TOKEN (authentication failed)",
                           fix="set GITOPS_TOKEN (or GITOPS_TOKEN_FILE) to a project or group access token "
                               "of the config repository with write_repository scope, and check it has not expired")
    if any(s in text for s in _NOT_FOUND):
        return ConfigError(f"the config repository {shown} does not exist or the token cannot see it",
                           fix="check GITOPS_REPO_URL, and that GITOPS_TOKEN belongs to that project")
    if any(s in text for s in _UNREACHABLE):
        detail = _last_line(failure.output)
        return RemoteError(f"cannot reach the config repository {shown} ({detail})",
                           fix="check GITOPS_REPO_URL and that the runner can reach that host")
    if "pre-receive hook declined" in text or "protected branch" in text or "not allowed to push" in text:
        return RemoteError(f"the config repository refused the push to {branch} ({_refusal(failure.output)})",
                           fix="allow the token's role to push to that branch, or list the environment in "
                               "GITOPS_PROTECTED_ENVIRONMENTS so the change goes through a merge request")
    return RemoteError(f"git failed on the config repository {shown}: {_last_line(failure.output)}",
                       fix="rerun with TRACE=1 to see git's full output")


_UNABLE = re.compile(r"^unable to access '[^']*':\s*")
_REJECTED = re.compile(r"\[remote rejected\][^(]*\((?P<why>[^)]*)\)")


def _refusal(output: str) -> str:
    """What the server said when it declined a push: its own `remote:` lines, and git's reason."""
    said = [ln.strip()[len("remote:"):].strip() for ln in output.splitlines() if ln.strip().startswith("remote:")]
    said = [ln for ln in said if ln]
    why = [m["why"] for m in _REJECTED.finditer(output)]
    return "; ".join(dict.fromkeys(said + why)) or _last_line(output)


def _last_line(output: str) -> str:
    """git's own reason, without the URL it repeats (the message names the URL already)."""
    lines = [ln.strip() for ln in output.strip().splitlines() if ln.strip()]
    for line in lines:
        if line.startswith(("fatal:", "error:")):
            return _UNABLE.sub("", line.split(":", 1)[1].strip())
    return lines[-1] if lines else "no output"
