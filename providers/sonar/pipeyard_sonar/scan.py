"""The scanner command, with its properties taken from GitLab CI variables.

Precedence, lowest first: what we can infer (key from the project path, Maven
output folders), then sonar-project.properties, then explicit SONAR_* settings,
then SONAR_SCANNER_OPTS, then arguments after `--`. The token travels in the
child's environment (SONAR_TOKEN), never on a command line a log could show.
Which scanner takes them (pysonar, the SonarScanner CLI, the sonar-maven-plugin)
is scanners.choose's call; bind() gives the plan its command line.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pipeyard_kit import trust
from pipeyard_kit.errors import ConfigError, PipeyardError
from pipeyard_kit.settings import Settings
from pipeyard_sonar import arguments, java_level, maven, scanner_cli, scanners

log = logging.getLogger("pipeyard.sonar")

REPORT_TASK = Path(".scannerwork") / "report-task.txt"
_SKIP_DIRS = {"node_modules", "target", ".git", ".scannerwork", "build", "dist", ".venv"}


class ScanError(PipeyardError):
    """The scanner itself failed or could not start."""


@dataclass
class ScanPlan:
    executable: str
    properties: dict[str, str]
    passthrough: list[str]
    env: dict[str, str] = field(default_factory=dict)
    report_task: Path = REPORT_TASK
    kind: str = "pysonar"  # pysonar | custom (pysonar-compatible) | cli | maven
    prefix: list[str] = field(default_factory=list)  # maven: its options and the plugin goal
    secrets: list[str] = field(default_factory=list, repr=False)  # values no log may show

    @property
    def argv(self) -> list[str]:
        if self.kind in ("pysonar", "custom"):
            args = scanners.pysonar_args(self.properties, self.passthrough)
        elif self.kind == "maven":
            args = scanners.java_args({k: v for k, v in self.properties.items() if k not in scanners.MAVEN_OWNS},
                                      self.passthrough)
        else:
            args = scanners.java_args(self.properties, self.passthrough)
        return [self.executable, *self.prefix, *args]

    def shown(self) -> str:
        """The command as a log may show it: any credential someone put in an option is masked."""
        return shlex.join(arguments.shown(self.argv, self.secrets))


def _properties_file_keys(cwd: Path) -> set[str]:
    path = cwd / "sonar-project.properties"
    if not path.is_file():
        return set()
    keys = set()
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "!")):
            keys.add(re.split(r"\s*[=:]\s*|\s+", line, maxsplit=1)[0])
    return keys


def _pom_version(pom: Path) -> str | None:
    try:
        root = ET.parse(pom).getroot()
    except (ET.ParseError, OSError):
        return None
    ns = {"m": root.tag[1:].split("}")[0]} if root.tag.startswith("{") else {}
    find = (lambda tag: root.find(f"m:{tag}", ns)) if ns else root.find
    node = find("version")
    if node is None:
        parent = find("parent")
        node = parent.find("m:version", ns) if (parent is not None and ns) else (
            parent.find("version") if parent is not None else None)
    text = (node.text or "").strip() if node is not None else ""
    # ${revision} and friends need Maven itself to resolve; better no version than a wrong one.
    return text if text and "${" not in text else None


def _package_version(pkg: Path) -> str | None:
    try:
        value = json.loads(pkg.read_text(encoding="utf-8")).get("version")
    except (OSError, ValueError, AttributeError):
        return None
    return str(value) if value else None


def _maven_modules(cwd: Path) -> list[Path]:
    modules = []
    for pom in sorted(cwd.rglob("pom.xml")):
        rel = pom.relative_to(cwd)
        if len(rel.parts) > 5 or _SKIP_DIRS.intersection(rel.parts[:-1]):
            continue
        modules.append(pom.parent)
    return modules


def _rel(cwd: Path, paths: list[Path]) -> str:
    return ",".join(str(p.relative_to(cwd)) or "." for p in paths)


def maven_properties(cwd: Path, require_classes: bool = True) -> dict[str, str]:
    """Sources, compiled classes and reports of a Maven build (single or multi-module)."""
    modules = _maven_modules(cwd)
    if not modules:
        return {}
    found: dict[str, list[Path]] = {k: [] for k in ("src", "test", "bin", "testbin", "lib", "junit", "jacoco")}
    java_sources = []
    for m in modules:
        for key, rel in (("src", "src/main"), ("test", "src/test"), ("bin", "target/classes"),
                         ("testbin", "target/test-classes"), ("junit", "target/surefire-reports")):
            if (m / rel).is_dir():
                found[key].append(m / rel)
        if (m / "src/main/java").is_dir():
            java_sources.append(m)
        if (m / "target/dependency").is_dir():
            found["lib"].append(m / "target/dependency/*.jar")
        for report in ("target/site/jacoco/jacoco.xml", "target/site/jacoco-aggregate/jacoco.xml"):
            if (m / report).is_file():
                found["jacoco"].append(m / report)
    without_classes = [m for m in java_sources if not (m / "target/classes").is_dir()]
    if without_classes and require_classes:
        names = ", ".join(str(m.relative_to(cwd)) or "." for m in without_classes)
        raise ScanError(f"Java sources without compiled classes in {names} (no target/classes)",
                        fix="run the Maven build (mvn package) before sonar-scan in the same job, or pass target/ "
                            "from the build job as an artifact; or set -Dsonar.java.binaries in SONAR_SCANNER_OPTS")
    props = {}
    for key, prop in (("src", "sonar.sources"), ("test", "sonar.tests"), ("bin", "sonar.java.binaries"),
                      ("testbin", "sonar.java.test.binaries"), ("lib", "sonar.java.libraries"),
                      ("junit", "sonar.junit.reportPaths"), ("jacoco", "sonar.coverage.jacoco.xmlReportPaths")):
        if found[key]:
            props[prop] = _rel(cwd, found[key])
    return props


def _branch_properties(env: Mapping[str, str]) -> dict[str, str]:
    if env.get("CI_MERGE_REQUEST_IID"):
        props = {"sonar.pullrequest.key": env["CI_MERGE_REQUEST_IID"]}
        if env.get("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME"):
            props["sonar.pullrequest.branch"] = env["CI_MERGE_REQUEST_SOURCE_BRANCH_NAME"]
        if env.get("CI_MERGE_REQUEST_TARGET_BRANCH_NAME"):
            props["sonar.pullrequest.base"] = env["CI_MERGE_REQUEST_TARGET_BRANCH_NAME"]
        return props
    branch = env.get("CI_COMMIT_BRANCH", "")
    # The default branch is the project's main branch in SonarQube: naming it would
    # create a second branch there, and fail outright on Community Build.
    if branch and branch != env.get("CI_DEFAULT_BRANCH", ""):
        return {"sonar.branch.name": branch}
    return {}


def _split_opts(text: str) -> tuple[dict[str, str], list[str]]:
    try:
        parts = shlex.split(text or "")
    except ValueError as exc:
        raise ConfigError(f"SONAR_SCANNER_OPTS cannot be parsed ({exc})",
                          fix="quote values with spaces, e.g. -Dsonar.exclusions='a b'") from None
    props, rest = {}, []
    for part in parts:
        if part.startswith("-D") and "=" in part:
            key, value = part[2:].split("=", 1)
            props[key] = value
        else:
            rest.append(part)
    return props, rest


def plan_scan(settings: Settings, env: Mapping[str, str], cwd: Path, extra_args: tuple[str, ...] = (),
              workdir: Path | None = None) -> ScanPlan:
    """Everything the scanner would get; nothing is run or written except CA files in workdir."""
    in_file = _properties_file_keys(cwd)
    defaults: dict[str, str] = {}
    explicit: dict[str, str] = {"sonar.host.url": settings["SONAR_HOST_URL"]}

    project_path = env.get("CI_PROJECT_PATH", "")
    if settings.get("SONAR_PROJECT_KEY"):
        explicit["sonar.projectKey"] = settings["SONAR_PROJECT_KEY"]
    elif project_path:
        defaults["sonar.projectKey"] = project_path.replace("/", "_")
    elif "sonar.projectKey" not in in_file:
        raise ConfigError("SONAR_PROJECT_KEY is not set and CI_PROJECT_PATH is empty",
                          fix="set SONAR_PROJECT_KEY in the job's variables")
    if settings.get("SONAR_PROJECT_NAME"):
        explicit["sonar.projectName"] = settings["SONAR_PROJECT_NAME"]
    elif env.get("CI_PROJECT_TITLE") or env.get("CI_PROJECT_NAME"):
        defaults["sonar.projectName"] = env.get("CI_PROJECT_TITLE") or env["CI_PROJECT_NAME"]
    version = (settings.get("SONAR_PROJECT_VERSION") or env.get("CI_COMMIT_TAG")
               or ((cwd / "pom.xml").is_file() and _pom_version(cwd / "pom.xml"))
               or ((cwd / "package.json").is_file() and _package_version(cwd / "package.json")) or None)
    if version:
        (explicit if settings.get("SONAR_PROJECT_VERSION") else defaults)["sonar.projectVersion"] = version
    if settings.get("SONAR_BRANCH_ANALYSIS", True):
        explicit.update(_branch_properties(env))
    for var, prop in (("CI_COMMIT_SHA", "sonar.scm.revision"), ("CI_PIPELINE_URL", "sonar.links.ci"),
                      ("CI_PROJECT_URL", "sonar.links.homepage")):
        if env.get(var):
            defaults[prop] = env[var]

    opts, passthrough = _split_opts(settings.get("SONAR_SCANNER_OPTS") or "")
    # Credentials given as properties or arguments reach the scanner in its environment, never its argv.
    given = {k: opts.pop(k) for k in list(opts) if k in arguments.SECRET_PROPERTIES}
    passthrough, from_args = arguments.split_secrets([*passthrough, *extra_args])
    given.update(from_args)
    # Binaries named by the user win, so missing target/classes is then not our problem.
    named = "sonar.java.binaries" in opts or "sonar.java.binaries" in in_file
    defaults.update(maven_properties(cwd, require_classes=not named))
    # The scanner's JVM is not the build's JDK: the bytecode tells the analyzer the project's Java level.
    defaults.update(java_level.properties(cwd, defaults.get("sonar.java.binaries")))
    if (cwd / "package.json").is_file() and (cwd / "coverage/lcov.info").is_file():
        defaults["sonar.javascript.lcov.reportPaths"] = "coverage/lcov.info"

    child_env: dict[str, str] = {}
    if settings.get("SONAR_TOKEN"):
        child_env["SONAR_TOKEN"] = settings["SONAR_TOKEN"]
    child_env.update(arguments.secret_env(given, env))
    java = shutil.which("java", path=env.get("PATH"))
    if java:
        # A JRE in the image beats downloading one from the server on every job.
        defaults["sonar.scanner.skipJreProvisioning"] = "true"
        defaults["sonar.scanner.javaExePath"] = java
    # The bundle and the truststore stay beside the scanner's own work files.
    ca_env = {**env, trust.DIR_ENV: str(workdir or cwd / ".scannerwork")}
    bundle = trust.install_custom_ca({**ca_env, trust.VARIABLE: settings.get("CUSTOM_CA_CERTS") or ""}, export=False)
    if bundle:
        child_env.update(bundle.env)
        try:
            store = trust.java_truststore(bundle)
        except ConfigError as exc:
            log.warning("the scanner engine's JVM will not trust CUSTOM_CA_CERTS: %s", exc.render())
        else:
            explicit["sonar.scanner.truststorePath"] = str(store.path)
            explicit["sonar.scanner.truststorePassword"] = trust.JAVA_STOREPASS
    report_task = cwd / REPORT_TASK
    explicit["sonar.scanner.metadataFilePath"] = str(report_task)
    if os.environ.get("TRACE", "") not in ("", "0", "false"):
        explicit["sonar.verbose"] = "true"

    properties = {k: v for k, v in defaults.items() if k not in in_file}
    properties.update(explicit)
    for key in opts:
        properties.pop(key, None)
    properties.update(opts)
    held = [settings.get("SONAR_TOKEN"), settings.get("MAVEN_REPO_PASSWORD"), *given.values()]
    return ScanPlan(executable="pysonar", properties=properties, passthrough=passthrough, env=child_env,
                    report_task=report_task, secrets=[v for v in held if v])


def bind(plan: ScanPlan, choice: scanners.Choice, settings: Settings, env: Mapping[str, str], cwd: Path, *,
         dry_run: bool = False) -> ScanPlan:
    """The plan with the chosen scanner's command line: the CLI fetched (unless a dry run), Maven's settings."""
    plan.kind = choice.kind
    if choice.kind == "custom":
        plan.executable = choice.executable
    elif choice.kind == "pysonar":
        plan.executable = "pysonar"
    elif choice.kind == "cli":
        verify = trust.bundle_file(settings.get("CUSTOM_CA_CERTS")) or True
        if dry_run:
            pin = scanner_cli.pin(settings)
            plan.executable = str(scanner_cli.user_home(env) / "pipeyard" / scanner_cli.TOOL / pin.sha256
                                  / f"sonar-scanner-{pin.version}" / "bin" / "sonar-scanner")
        else:
            plan.executable = str(scanner_cli.install(settings, why=choice.reason, verify=verify, env=env))
        # The CLI's own script runs the image's java; nothing to provision.
        plan.properties.pop("sonar.scanner.javaExePath", None)
    elif choice.kind == "maven":
        argv, child = maven.command(settings, plan.report_task.parent, env)
        plan.executable, plan.prefix = argv[0], argv[1:]
        plan.env.update(child)
    return plan


def run_scan(plan: ScanPlan, cwd: Path) -> None:
    exe = shutil.which(plan.executable)
    if not exe:
        what = f"SONAR_SCANNER={plan.executable}" if plan.kind == "custom" else plan.executable
        raise ConfigError(f"{what} is not an executable on PATH",
                          fix="use the sonar image (it carries pysonar, the JRE and Maven), or point "
                              "SONAR_SCANNER at a pysonar-compatible executable")
    plan.report_task.unlink(missing_ok=True)  # a stale file would make the gate wait read an old task
    log.info("running %s", plan.shown())
    log.info("credentials reach the scanner in its environment (SONAR_TOKEN, SONAR_SCANNER_JSON_PARAMS), "
             "not on its command line")
    try:
        rc = subprocess.call([exe, *plan.argv[1:]], cwd=cwd, env={**os.environ, **plan.env})
    except OSError as exc:
        raise ScanError(f"cannot start the scanner {exe} ({exc.strerror})",
                        fix="check SONAR_SCANNER and the image") from None
    if rc != 0:
        name = {"maven": "the sonar-maven-plugin", "cli": "the SonarScanner CLI", "pysonar": "pysonar"}.get(
            plan.kind, "the SonarScanner")
        raise ScanError(f"{name} failed with exit code {rc}",
                        fix="read the scanner output above; TRACE=1 makes it verbose (sonar.verbose)")
