"""The repository's test root: tests/ mirrors sdk/kit and sdk/pipeyard, and each provider's tests live in
providers/<name>/tests. The shared fixtures (cli, port, repo_root, scratch_repo) come from tests.fixtures."""

pytest_plugins = ["tests.fixtures"]
