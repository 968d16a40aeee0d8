"""Every declared setting of every provider command, given bad values: as a job variable (exit 1) and
as its flag (exit 2), with the command's other required settings good. Generated from the settings
the providers declare (their provider.json, as the images carry it), so a new setting is covered the
day it is added.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeyard_kit import options, settings
from tests.badinput.harness import Case, Folder

# The bad values of each type: (what the case is called, the value, what the error must say).
URLS = [
    ("without a scheme", "sonar.example.com", "http"),
    ("with user:password@", "https://ci:{secret}@host.example.com", "credentials"),
    ("with a line break", "https://host.example.com/a\nscript-shell=/tmp/x", "http"),
    ("with a port above 65535", "https://host.example.com:70000", "port"),
    ("of another scheme", "ftp://host.example.com/pub", "http"),
    ("with a space", "https://host .example.com", "http"),
]
INTEGER = [("not a number", "abc", "whole number"), ("a fraction", "1.5", "whole number")]
BOOLEANS = [("not a boolean", "maybe", "true or false")]
ENUMS = [("not an option", "bogus", "one of")]
EMAILS = [("an address without a domain", "a@", "name@example.com"),
          ("a word", "not-an-email", "name@example.com")]


@dataclass(frozen=True)
class Target:
    """A provider command and what makes the rest of its run good (or at least quiet)."""

    provider: str
    argv: tuple[str, ...]
    command: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    # Settings that come in pairs: when this one is the bad one, the other is set too.
    companions: dict[str, dict[str, str]] = field(default_factory=dict)
    skip: frozenset[str] = frozenset()

    @property
    def label(self) -> str:
        return " ".join(self.argv[:2]) if self.command else self.argv[0]


SENDMAIL = {"EMAIL_TO_LIST": "dev@example.com", "EMAIL_FROM": "ci@example.com", "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": "{closed_port}", "SMTP_RETRIES": "0", "SMTP_USER": "ci@example.com"}
# The planted password and token need the user and the registry they belong to.
MAVEN = {"MAVEN_REPO_USER": "ci"}
NPM = {"NPM_REGISTRY_URL": "https://npm.example.com/"}
TARGETS = [
    Target("sonar", ("sonar-scan",), env={"SONAR_HOST_URL": "{closed}"}),
    Target("maven", ("maven-configure",), env=MAVEN,
           companions={"MAVEN_SECOND_MIRROR_URL": {"MAVEN_SECOND_MIRROR_OF": "vendor"}}),
    Target("npm", ("npm-configure",), env=NPM),
    Target("sendmail", ("send-mail", "text", "--subject", "Hi", "--body", "Hello"), "text", env=SENDMAIL),
    Target("sendmail", ("send-mail", "sonar"), "sonar",
           env={**SENDMAIL, "PROJECT_NAME": "shop", "SONAR_INTERNAL_ADDR": "{closed}",
                "SONAR_EXTERNAL_ADDR": "https://sonar.example.com"}),
    Target("sendmail", ("send-mail", "pipeline", "--gitlab-url", "{closed}", "--project-id", "1", "--pipeline-id", "7"),
           "pipeline", env=SENDMAIL),
    Target("chrome-headless", ("screenshot",)),
    Target("gitops", ("gitops-bump",), env={"GITOPS_REPO_URL": "{closed}/config.git", "GITOPS_ENVIRONMENT": "dev",
                                            "GITOPS_IMAGE": "registry.example.com/shop/orders:1.0.0",
                                            "GITOPS_APP": "orders"}),
]


def _bad_values(spec: dict) -> list[tuple[str, str, str]]:
    kind = spec["type"]
    if kind == "url":
        return URLS
    if kind == "integer":
        out = list(INTEGER)
        if spec.get("minimum") is not None:
            out.append(("below its minimum", str(spec["minimum"] - 1), "out of range"))
        if spec.get("maximum") is not None:
            out.append(("above its maximum", str(spec["maximum"] + 1), "out of range"))
        return out
    if kind == "boolean":
        return BOOLEANS
    if kind == "enum":
        return ENUMS
    if kind == "email-list":
        return EMAILS
    return []


def _cases(target: Target) -> list[Case]:
    cases = []
    flags = {s["env"]: options.flag_of(s) for s in options.flagged(target.provider, target.command)}
    for spec in settings.declared(target.provider):
        name = spec["env"]
        if not settings.applies(spec, target.command):
            continue
        env = {**target.env, **target.companions.get(name, {})}
        for what, value, says in _bad_values(spec):
            cases.append(Case(f"{name} {what}", target.argv, 1, (name, says), env={**env, name: value}))
            if name in flags:
                # A boolean flag is a switch (--wait / --no-wait): a value after `=` is the mistake.
                given = (f"--{flags[name]}={value}",) if spec["type"] == "boolean" else (f"--{flags[name]}", value)
                says_flag = (f"--{flags[name]}",) if spec["type"] == "boolean" else (f"--{flags[name]}", says)
                cases.append(Case(f"--{flags[name]} {what}", (*target.argv, *given), 2, says_flag, env=env))
        if spec.get("secret"):
            var = f"{name}_FILE"
            for what, files, env, says in (
                ("an empty file", {"secret.txt": ""}, {var: "{work}/secret.txt"}, "empty"),
                ("a folder", {"secret.d": Folder()}, {var: "{work}/secret.d"}, "folder"),
                ("a missing file", {}, {var: "{work}/no-such-secret.txt"}, "cannot be read"),
                ("set beside a different NAME", {"secret.txt": "{secret}-other\n"}, {var: "{work}/secret.txt"},
                 "both set"),
            ):
                cases.append(Case(f"{var} {what}", target.argv, 1, (var, says), env={**target.env, **env},
                                  files=files))
        if spec.get("required") and name not in target.skip:
            cases.append(Case(f"{name} unset", target.argv, 1, (name, "set"), env={**target.env, name: None}))
    return [Case(f"[{target.label}] {c.name}", c.argv, c.exit, c.says, env=c.env, files=c.files) for c in cases]


CASES = [case for target in TARGETS for case in _cases(target)]
