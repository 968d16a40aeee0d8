"""pytest finds the fixtures and hooks of the gitops provider's tests here; they live beside their
helpers in gitops_support.py, which the tests import by name (this folder is no package)."""

from gitops_support import config_repo, git_server, gitlab_api, job_env  # noqa: F401
