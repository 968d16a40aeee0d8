"""One open merge request per app and environment, for protected environments."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from pipeyard_kit import gitlab

log = logging.getLogger("pipeyard.gitops")

HINTS = gitlab.Hints(
    token_var="GITOPS_TOKEN",
    token_fix="set GITOPS_TOKEN to an access token of the config repository with api scope",
    role_fix="give the token api scope and at least the Developer role on the config repository",
    not_found_fix="set GITOPS_PROJECT to the config repository's path or id, and GITOPS_GITLAB_URL to its GitLab",
    timeout_fix="check GITOPS_GITLAB_URL and the server's health, or raise GITOPS_TIMEOUT",
)


@dataclass(frozen=True)
class MergeRequestTarget:
    gitlab_url: str
    project: str
    token: str = field(repr=False)
    ca_file: str | None = None
    timeout: float = gitlab.TIMEOUT


def ensure_merge_request(target: MergeRequestTarget, *, source: str, branch: str, title: str,
                         description: str) -> str:
    """Open a merge request from `source` into `branch`, or refresh the one already open; returns its URL."""
    client = gitlab.client(target.gitlab_url, target.token, what="a merge request", ca_file=target.ca_file,
                           timeout=target.timeout, install="install pipeyard-gitops, or use the gitops provider image")
    try:
        project = client.projects.get(target.project, lazy=True)
        mr, state = gitlab.open_or_refresh(project, source=source, target=branch, title=title,
                                           description=description, labels="gitops")
    except gitlab.errors() as exc:
        raise gitlab.explain(exc, url=target.gitlab_url, project=target.project, what="open the merge request",
                             hints=HINTS) from None
    log.info("%s merge request !%s", state, mr.iid)
    return gitlab.web_url(mr)
