"""The arguments sonar-scan hands to the scanner unchanged: typos of its own flags refused, and secrets
kept off the scanner's command line.

sonar-scan passes what it does not know to the scanner (click's ignore_unknown_options), so `--dryrun`
would reach pysonar and `--skip-scn` would be silently ignored by Maven. An unknown long option that
the scanners do not know either, and that looks like one of sonar-scan's own, is a usage error with
a suggestion; every real scanner argument still passes.

A token given as an argument (`-- --token X`, `-Dsonar.token=X`, `-Dsonar.login=X` in
SONAR_SCANNER_OPTS...) would show in the scanner's process listing and in any log of its command
line. Those properties reach the scanner in its environment instead: SONAR_SCANNER_JSON_PARAMS,
which pysonar (pysonar_scanner/configuration/environment_variables.py, load_json_env_variables) and
sonar-scanner-java-library, under the SonarScanner CLI and the sonar-maven-plugin
(lib/src/main/java/org/sonarsource/scanner/lib/EnvironmentConfig.java, called by SonarQubeMojo) both
read, and the token also as SONAR_TOKEN, which pysonar's environment loader puts above the JSON.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping

from pipeyard_kit import secrets
from pipeyard_kit.errors import UsageError

# pysonar 1.10.0.5888's long options (pysonar_scanner/configuration/cli.py, __create_parser); a test
# compares them with the installed pysonar's parser.
PYSONAR_OPTIONS = frozenset("""
--analysis-in-parallel --bandit-report-paths --coverage-report-paths --dry-run --flake8-report-paths --help
--java-heap-size --mypy-report-paths --no-analysis-in-parallel --no-dry-run --no-sonar-python-analysis-parallel
--no-sonar-python-skip-unchanged --no-sonar-python-test-file-heuristic-disabled --no-sonar-python-xunit-skip-details
--no-sonar-qualitygate-wait --no-sonar-scm-exclusions-disabled --no-sonar-scm-force-reload-all --no-sonar-verbose
--no-verbose --no-xunit-skip-details --nr-analysis-threads --project-key --pylint-report-path --ruff-report-paths
--skip-jre-provisioning --sonar-branch-name --sonar-build-string --sonar-coverage-exclusions
--sonar-cpd-py-minimum-lines --sonar-cpd-py-minimum-tokens --sonar-cpd-python-minimum-lines
--sonar-cpd-python-minimum-tokens --sonar-external-issues-report-paths --sonar-filesize-limit --sonar-host-url
--sonar-links-ci --sonar-links-homepage --sonar-links-issue --sonar-links-scm --sonar-log-level --sonar-modules
--sonar-newcode-reference-branch --sonar-organization --sonar-project-base-dir --sonar-project-description
--sonar-project-key --sonar-project-name --sonar-project-version --sonar-pullrequest-base --sonar-pullrequest-branch
--sonar-pullrequest-key --sonar-python-analysis-parallel --sonar-python-analysis-threads
--sonar-python-bandit-report-paths --sonar-python-coverage-report-paths --sonar-python-flake8-report-paths
--sonar-python-mypy-report-paths --sonar-python-pylint-report-path --sonar-python-ruff-report-paths
--sonar-python-skip-unchanged --sonar-python-test-file-heuristic-disabled --sonar-python-version
--sonar-python-xunit-report-path --sonar-python-xunit-skip-details --sonar-qualitygate-timeout
--sonar-qualitygate-wait --sonar-region --sonar-sarif-report-paths --sonar-scanner-api-url --sonar-scanner-arch
--sonar-scanner-cloud-url --sonar-scanner-connect-timeout --sonar-scanner-engine-jar-path
--sonar-scanner-internal-dump-to-file --sonar-scanner-internal-sq-version --sonar-scanner-java-exe-path
--sonar-scanner-java-heap-size --sonar-scanner-java-opts --sonar-scanner-keystore-password
--sonar-scanner-keystore-path --sonar-scanner-metadata-filepath --sonar-scanner-os --sonar-scanner-proxy-host
--sonar-scanner-proxy-password --sonar-scanner-proxy-port --sonar-scanner-proxy-user
--sonar-scanner-response-timeout --sonar-scanner-socket-timeout --sonar-scanner-truststore-password
--sonar-scanner-truststore-path --sonar-scm-exclusions-disabled --sonar-scm-force-reload-all --sonar-scm-revision
--sonar-source-encoding --sonar-sources --sonar-tests --sonar-token --sonar-user-home --sonar-verbose
--sonar-working-directory --sonar.coverage.exclusions --token --toml-path --verbose --version --xunit-report-path
--xunit-skip-details
""".split())
# The SonarScanner CLI's own (sonar-scanner-cli src/main/java/org/sonarsource/scanner/cli/Cli.java).
CLI_OPTIONS = frozenset({"--define", "--help", "--version", "--debug"})
SCANNER_OPTIONS = PYSONAR_OPTIONS | CLI_OPTIONS
# Properties that hold a credential, and the options that set them (pysonar's; the CLI takes -D only).
SECRET_PROPERTIES = frozenset({"sonar.token", "sonar.login", "sonar.password", "sonar.scanner.proxyPassword",
                               "sonar.scanner.keystorePassword", "sonar.scanner.truststorePassword"})
SECRET_OPTIONS = {"-t": "sonar.token", "--token": "sonar.token", "--sonar-token": "sonar.token",
                  "--sonar-scanner-proxy-password": "sonar.scanner.proxyPassword",
                  "--sonar-scanner-keystore-password": "sonar.scanner.keystorePassword",
                  "--sonar-scanner-truststore-password": "sonar.scanner.truststorePassword"}
JSON_PARAMS = "SONAR_SCANNER_JSON_PARAMS"


def refuse_lookalikes(args: Iterable[str], own: Iterable[str], prog: str = "sonar-scan") -> None:
    """A UsageError for the first argument that is no scanner's option and looks like one of `own`."""
    own = sorted(o for o in own if o.startswith("--"))
    for arg in args:
        name = arg.split("=", 1)[0]
        if not name.startswith("--") or name == "--" or name in SCANNER_OPTIONS or name in own:
            continue
        guess = difflib.get_close_matches(name, own, n=1, cutoff=0.8)
        if guess:
            raise UsageError(f"{prog}: {name} is not an option of {prog} nor of the scanner: did you mean "
                             f"{guess[0]}?", fix=f"fix the flag (`{prog} --help` lists them); scanner arguments "
                                                 "go after --, e.g. -- -Dsonar.exclusions=vendor/**")


def split_secrets(args: Iterable[str]) -> tuple[list[str], dict[str, str]]:
    """(the arguments without any credential, the credential properties they set)."""
    rest: list[str] = []
    found: dict[str, str] = {}
    items = list(args)
    i = 0
    while i < len(items):
        arg = items[i]
        name, eq, value = arg.partition("=")
        if name.startswith("-D") and name[2:] in SECRET_PROPERTIES and eq:
            found[name[2:]] = value
        elif name in SECRET_OPTIONS and eq:
            found[SECRET_OPTIONS[name]] = value
        elif arg in SECRET_OPTIONS and i + 1 < len(items):
            found[SECRET_OPTIONS[arg]] = items[i + 1]
            i += 1
        else:
            rest.append(arg)
        i += 1
    return rest, found


def secret_env(found: Mapping[str, str], env: Mapping[str, str]) -> dict[str, str]:
    """The environment that hands the scanner `found` (merged into any SONAR_SCANNER_JSON_PARAMS the job set)."""
    if not found:
        return {}
    try:
        params = json.loads(env.get(JSON_PARAMS) or "{}")
    except ValueError:
        params = {}
    params = {**(params if isinstance(params, dict) else {}), **found}
    child = {JSON_PARAMS: json.dumps(params)}
    if "sonar.token" in found:
        child["SONAR_TOKEN"] = found["sonar.token"]
    return child


def shown(argv: Iterable[str], values: Iterable[str] = ()) -> list[str]:
    """A command line as a log may show it: credentials masked, whatever option carries them."""
    return secrets.masked_arguments(argv, values=values, secret_flags=["-t"])
