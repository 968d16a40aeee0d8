"""One open merge request per app and environment, through GitLab's merge-request API (python-gitlab)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError, RemoteError

log = logging.getLogger("pipeyard.gitops")


@dataclass(frozen=True)
class MergeRequestTarget:
    gitlab_url: str
    project: str
    token: str = field(repr=False)
    ca_file: str | None = None


def _client(target: MergeRequestTarget) -> Any:
    try:
        import gitlab
    except ImportError:
        raise ConfigError("python-gitlab is not installed, so no merge request can be opened",
                          fix="install pipeyard[gitops], or use the gitops provider image") from None
    return gitlab.Gitlab(target.gitlab_url, private_token=target.token, ssl_verify=target.ca_file or True,
                         timeout=30, retry_transient_errors=True)


def _explain(exc: Exception, target: MergeRequestTarget) -> Exception:
    import gitlab
    import requests

    where = f"GitLab at {target.gitlab_url} (project {target.project})"
    if isinstance(exc, gitlab.exceptions.GitlabAuthenticationError):
        return ConfigError(f"{where} refused GITOPS_TOKEN (401)",
                           fix="set GITOPS_TOKEN to an access token of the config repository with api scope")
    code = getattr(exc, "response_code", None)
    if code == 403:
        return ConfigError(f"{where} does not let GITOPS_TOKEN open merge requests (403)",
                           fix="give the token api scope and at least the Developer role on the config repository")
    if code == 404:
        return ConfigError(f"{where}: project not found (404)",
                           fix="set GITOPS_PROJECT to the config repository's path or id, "
                               "and GITOPS_GITLAB_URL to its GitLab")
    if isinstance(exc, requests.exceptions.RequestException):
        return RemoteError(f"cannot reach {where} ({type(exc).__name__})",
                           fix="check GITOPS_GITLAB_URL and that the runner can reach it")
    message = getattr(exc, "error_message", None) or str(exc)
    return RemoteError(f"{where} failed to open the merge request ({code or 'error'}: {message})",
                       fix="rerun with TRACE=1 for details")


def _open_one(project: Any, source: str, branch: str) -> Any:
    found = project.mergerequests.list(state="opened", source_branch=source, target_branch=branch, get_all=False)
    return found[0] if found else None


def _create(project: Any, fields: dict[str, Any]) -> tuple[Any, bool]:
    """(merge request, created); a concurrent bump of the same app and environment may win the create (409)."""
    import gitlab

    try:
        return project.mergerequests.create({**fields, "remove_source_branch": True, "labels": "gitops"}), True
    except gitlab.exceptions.GitlabCreateError as exc:
        existing = _open_one(project, fields["source_branch"], fields["target_branch"]) \
            if exc.response_code == 409 else None
        if existing is None:
            raise
        return existing, False


def ensure_merge_request(target: MergeRequestTarget, *, source: str, branch: str, title: str,
                         description: str) -> str:
    """Open a merge request from `source` into `branch`, or refresh the one already open; returns its URL."""
    client = _client(target)
    import gitlab
    import requests

    try:
        project = client.projects.get(target.project, lazy=True)
        mr, created = _open_one(project, source, branch), False
        if mr is None:
            mr, created = _create(project, {"source_branch": source, "target_branch": branch, "title": title,
                                            "description": description})
        if not created:
            mr.title = title
            mr.description = description
            mr.save()
    except (gitlab.exceptions.GitlabError, requests.exceptions.RequestException) as exc:
        raise _explain(exc, target) from None
    log.info("%s merge request !%s", "opened" if created else "updated", mr.iid)
    return str(getattr(mr, "web_url", "") or f"!{mr.iid}")
