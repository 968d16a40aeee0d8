"""Bad input to the provider commands beyond one bad setting: flags that do not exist, files that are
wrong, servers that are down or answer garbage, checksums that do not match, secrets in arguments."""

from __future__ import annotations

from dataclasses import replace

from tests.badinput.harness import Case, Folder
from tests.badinput.table_settings import MAVEN, NPM, SENDMAIL

LABELS = {"closed": "nothing (a closed port)", "g_html": "a login page", "g_list": "a JSON list", "g_null": "null",
          "g_empty": "an empty object", "g_types": "members of the wrong types", "g_task": "a task without its analysis",
          "g_shapes": "lists of the wrong things", "g_truncated": "cut-off JSON", "g_error": "HTTP 500",
          "g_teapot": "HTTP 418", "g_text": "plain text"}

# -- sonar-scan ------------------------------------------------------------------------------------

SONAR = {"SONAR_HOST_URL": "{closed}", "CI_PROJECT_PATH": "shop/orders"}
TASK = "ceTaskId=AYhSC2-LY0CHkWJxvNA9\nprojectKey=shop_orders\nserverUrl={url}\nceTaskUrl={url}/api/ce/task?id=AYhSC2\n"


def _gate(fault: str, says: tuple[str, ...], name: str | None = None) -> Case:
    """sonar-scan --skip-scan: the gate wait against a server answering `fault`."""
    url = "{" + fault + "}"
    return Case(name or f"the gate wait against a server answering {LABELS[fault]}",
                ("sonar-scan", "--skip-scan"), 1, says, env={**SONAR, "SONAR_HOST_URL": url},
                files={".scannerwork/report-task.txt": TASK.replace("{url}", url)})


SONAR_CASES = [
    # Flags that look like sonar-scan's own are typos, not scanner arguments.
    Case("a typo of --dry-run", ("sonar-scan", "--dryrun"), 2, ("--dryrun", "--dry-run"), env=SONAR),
    Case("a typo of --skip-scan", ("sonar-scan", "--skip-scn"), 2, ("--skip-scn", "--skip-scan"), env=SONAR),
    Case("a cut-off --host-url", ("sonar-scan", "--host-ur", "https://sonar.example.com"), 2,
         ("--host-ur", "--host-url"), env=SONAR),
    Case("a typo of --project-key", ("sonar-scan", "--projet-key", "shop"), 2, ("--projet-key", "--project-key"),
         env=SONAR),
    Case("a typo of --wait", ("sonar-scan", "--wiat"), 2, ("--wiat", "--wait"), env=SONAR),
    Case("a typo of --poll-interval", ("sonar-scan", "--poll-intervall", "3"), 2,
         ("--poll-intervall", "--poll-interval"), env=SONAR),
    Case("a typo of --report-task", ("sonar-scan", "--report-tsk", "x.txt"), 2, ("--report-tsk", "--report-task"),
         env=SONAR),
    Case("a typo after --", ("sonar-scan", "--", "--dryrun"), 2, ("--dryrun", "--dry-run"), env=SONAR),
    Case("a typo beside a real scanner argument", ("sonar-scan", "-Dsonar.sources=src", "--skip-scna"), 2,
         ("--skip-scna", "--skip-scan"), env=SONAR),
    Case("--poll-interval below zero", ("sonar-scan", "--poll-interval", "-1"), 2, ("--poll-interval",), env=SONAR),
    Case("--poll-interval not a number", ("sonar-scan", "--poll-interval", "soon"), 2, ("--poll-interval",),
         env=SONAR),
    Case("--host-url without its value", ("sonar-scan", "--host-url"), 2, ("--host-url",), env=SONAR),
    # Secrets in arguments never reach the output, whatever fails.
    Case("a token after -- and no token variable", ("sonar-scan", "--dry-run", "--", "--token", "{secret}"), 1,
         ("SONAR_HOST_URL", "set"), env={**SONAR, "SONAR_HOST_URL": None}),
    Case("-Dsonar.token in SONAR_SCANNER_OPTS with a server down", ("sonar-scan",), 1, ("SONAR_HOST_URL", "reach"),
         env={**SONAR, "SONAR_SCANNER_OPTS": "-Dsonar.token={secret} -Dsonar.login={secret}"}),
    Case("-Dsonar.password as an argument with a server down", ("sonar-scan", "-Dsonar.password={secret}"), 1,
         ("SONAR_HOST_URL", "reach"), env=SONAR),
    Case("--token as an argument with the CLI missing", ("sonar-scan", "--token", "{secret}"), 1,
         ("SONAR_SCANNER_MIRROR_URL", "set"), env={**SONAR, "SONAR_SCANNER": "cli"}),
    # Files of the job.
    Case("SONAR_SCANNER_OPTS with an unbalanced quote", ("sonar-scan",), 1, ("SONAR_SCANNER_OPTS", "quote"),
         env={**SONAR, "SONAR_SCANNER_OPTS": "-Dsonar.exclusions='a b"}),
    Case("no project key and no pipeline", ("sonar-scan",), 1, ("SONAR_PROJECT_KEY", "set"),
         env={**SONAR, "CI_PROJECT_PATH": None}),
    Case("Java sources without compiled classes", ("sonar-scan",), 1, ("target/classes", "mvn package"),
         env=SONAR, files={"pom.xml": "<project/>", "src/main/java/A.java": "class A {}"}),
    Case("--skip-scan without a report-task.txt", ("sonar-scan", "--skip-scan"), 1, ("report-task.txt", "run"),
         env=SONAR),
    Case("--report-task naming a missing file", ("sonar-scan", "--skip-scan", "--report-task", "gone.txt"), 1,
         ("gone.txt", "--report-task"), env=SONAR),
    Case("--report-task naming a folder", ("sonar-scan", "--skip-scan", "--report-task", "dir"), 1,
         ("dir", "--report-task"), env=SONAR, files={"dir": Folder()}),
    Case("a report-task.txt without a task id", ("sonar-scan", "--skip-scan"), 1, ("report-task.txt", "ceTaskId"),
         env=SONAR, files={".scannerwork/report-task.txt": "projectKey=shop\n"}),
    Case("a report-task.txt that is not text", ("sonar-scan", "--skip-scan"), 1, ("report-task.txt", "ceTaskId"),
         env=SONAR, files={".scannerwork/report-task.txt": b"\xff\xfe\x00garbage\x80"}),
    Case("SONAR_SCANNER naming a missing executable", ("sonar-scan",), 1, ("SONAR_SCANNER", "executable"),
         env={**SONAR, "SONAR_SCANNER": "/nonexistent/scanner"}),
    Case("SONAR_SCANNER=maven without a pom.xml", ("sonar-scan",), 1, ("SONAR_SCANNER=maven", "pom.xml"),
         env={**SONAR, "SONAR_SCANNER": "maven"}),
    Case("SONAR_SCANNER=cli without a mirror", ("sonar-scan",), 1, ("SONAR_SCANNER_MIRROR_URL", "set"),
         env={**SONAR, "SONAR_SCANNER": "cli"}),
    Case("another CLI version without its sha256", ("sonar-scan",), 1, ("SONAR_SCANNER_CLI_SHA256", "set"),
         env={**SONAR, "SONAR_SCANNER": "cli", "SONAR_SCANNER_CLI_VERSION": "7.0.0.4796",
              "SONAR_SCANNER_MIRROR_URL": "{g_html}"}),
    Case("a sha256 that is not hexadecimal", ("sonar-scan",), 1, ("SONAR_SCANNER_CLI_SHA256", "sha256"),
         env={**SONAR, "SONAR_SCANNER": "cli", "SONAR_SCANNER_CLI_VERSION": "7.0.0.4796",
              "SONAR_SCANNER_CLI_SHA256": "z" * 64, "SONAR_SCANNER_MIRROR_URL": "{g_html}"}),
    Case("the CLI from a mirror serving the wrong file", ("sonar-scan",), 1, ("checksum", "SONAR_SCANNER_CLI_SHA256"),
         env={**SONAR, "SONAR_SCANNER": "cli", "SONAR_SCANNER_MIRROR_URL": "{g_html}"}),
    Case("the CLI from a mirror that is down", ("sonar-scan",), 1, ("SONAR_SCANNER_MIRROR_URL", "mirror"),
         env={**SONAR, "SONAR_SCANNER": "cli", "SONAR_SCANNER_MIRROR_URL": "{closed}"}),
    Case("the CLI from a mirror answering 500", ("sonar-scan",), 1, ("SONAR_SCANNER_MIRROR_URL", "mirror"),
         env={**SONAR, "SONAR_SCANNER": "cli", "SONAR_SCANNER_MIRROR_URL": "{g_error}"}),
    # The server: down, a login page, garbage, a wrong shape.
    Case("a SonarQube that is down", ("sonar-scan",), 1, ("SONAR_HOST_URL", "reach"), env=SONAR),
    Case("a login page instead of SonarQube", ("sonar-scan",), 1, ("SONAR_HOST_URL", "api/server/version"),
         env={**SONAR, "SONAR_HOST_URL": "{g_html}"}),
    Case("a SonarQube failing with 500", ("sonar-scan",), 1, ("SONAR_HOST_URL", "500"),
         env={**SONAR, "SONAR_HOST_URL": "{g_error}"}),
    Case("a SonarQube answering 418", ("sonar-scan",), 1, ("SONAR_HOST_URL", "418"),
         env={**SONAR, "SONAR_HOST_URL": "{g_teapot}"}),
    Case("an SMTP port instead of SonarQube", ("sonar-scan",), 1, ("SONAR_HOST_URL",),
         env={**SONAR, "SONAR_HOST_URL": "http://127.0.0.1:{babbler_port}"}),
    _gate("closed", ("SONAR_HOST_URL", "reach")),
    _gate("g_html", ("api/ce/task", "SONAR_HOST_URL")),
    _gate("g_list", ("api/ce/task", "SONAR_HOST_URL")),
    _gate("g_null", ("api/ce/task", "SONAR_HOST_URL")),
    _gate("g_empty", ("api/ce/task", "SONAR_HOST_URL")),
    _gate("g_types", ("api/ce/task", "SONAR_HOST_URL")),
    _gate("g_truncated", ("api/ce/task", "SONAR_HOST_URL")),
    _gate("g_task", ("analysisId", "rerun")),
    _gate("g_error", ("500", "SONAR_HOST_URL")),
    _gate("g_text", ("api/ce/task", "SONAR_HOST_URL")),
    Case("the gate wait against an SMTP port", ("sonar-scan", "--skip-scan"), 1, ("SONAR_HOST_URL",),
         env={**SONAR, "SONAR_HOST_URL": "http://127.0.0.1:{babbler_port}"},
         files={".scannerwork/report-task.txt": TASK.replace("{url}", "http://127.0.0.1:{babbler_port}")}),
    Case("the gate wait with a user:password@ host", ("sonar-scan", "--skip-scan"), 1,
         ("SONAR_HOST_URL", "credentials"), env={**SONAR, "SONAR_HOST_URL": "http://u:{secret}@127.0.0.1:1"}),
]

# -- send-mail -------------------------------------------------------------------------------------

SONAR_MAIL = {**SENDMAIL, "PROJECT_NAME": "shop", "SONAR_EXTERNAL_ADDR": "https://sonar.example.com"}


def _report(fault: str, says: tuple[str, ...]) -> Case:
    return Case(f"the report from a SonarQube answering {LABELS[fault]}", ("send-mail", "sonar", "--preview", "out"), 1,
                says, env={**SONAR_MAIL, "SONAR_INTERNAL_ADDR": "{" + fault + "}"})


def _pipeline(fault: str, says: tuple[str, ...]) -> Case:
    return Case(f"the pipeline from a GitLab answering {LABELS[fault]}",
                ("send-mail", "pipeline", "--preview", "out", "--gitlab-url", "{" + fault + "}",
                 "--project-id", "1", "--pipeline-id", "7"), 1, says, env=SENDMAIL)


TEXT = ("send-mail", "text", "--subject", "Hi", "--body", "Hello")
SENDMAIL_CASES = [
    Case("no subcommand's typo", ("send-mail", "txet"), 2, ("txet", "--help")),
    Case("a typo of --subject", ("send-mail", "text", "--subjet", "Hi"), 2, ("--subjet", "--subject")),
    Case("--subject missing", ("send-mail", "text", "--body", "x"), 2, ("--subject",), env=SENDMAIL),
    Case("an empty message", ("send-mail", "text", "--subject", "Hi"), 2, ("empty", "--body"), env=SENDMAIL),
    Case("a blank message", ("send-mail", "text", "--subject", "Hi", "--body", "  \n "), 2, ("empty", "--body"),
         env=SENDMAIL),
    Case("--body-file missing", ("send-mail", "text", "--subject", "Hi", "--body-file", "gone.txt"), 2,
         ("--body-file", "gone.txt"), env=SENDMAIL),
    Case("--body-file that is not text", ("send-mail", "text", "--subject", "Hi", "--body-file", "body.bin"), 2,
         ("--body-file", "UTF-8"), env=SENDMAIL, files={"body.bin": b"\xff\xfe\x80\x81"}),
    Case("--attach missing", (*TEXT, "--attach", "gone.pdf"), 2, ("--attach", "gone.pdf"), env=SENDMAIL),
    Case("--attach a folder", (*TEXT, "--attach", "dir"), 2, ("--attach", "dir"), env=SENDMAIL,
         files={"dir": Folder()}),
    Case("--inline not an image", (*TEXT, "--inline", "shot.png"), 2, ("--inline", "image"), env=SENDMAIL,
         files={"shot.png": "not a png"}),
    Case("--preview into a file", (*TEXT, "--preview", "taken"), 2, ("--preview", "taken"), env=SENDMAIL,
         files={"taken": "a file"}),
    Case("--template-dir missing", (*TEXT, "--template-dir", "nowhere", "--preview", "out"), 1,
         ("SENDMAIL_TEMPLATE_DIR", "nowhere"), env=SENDMAIL),
    Case("a template that does not parse", (*TEXT, "--template-dir", "tpl", "--preview", "out"), 1,
         ("text.html.j2", "template"), env=SENDMAIL, files={"tpl/text.html.j2": "{% if %}"}),
    Case("EMAIL_FROM not an address", TEXT, 1, ("EMAIL_FROM", "address"), env={**SENDMAIL, "EMAIL_FROM": "ci"}),
    Case("EMAIL_FROM with a line break", TEXT, 1, ("EMAIL_FROM",),
         env={**SENDMAIL, "EMAIL_FROM": "ci@example.com\nBcc: all@example.com"}),
    Case("an SMTP relay that is down", TEXT, 1, ("SMTP_HOST", "reach"), env=SENDMAIL),
    Case("an SMTP relay that never greets", TEXT, 1, ("greeting", "SMTP_PORT"),
         env={**SENDMAIL, "SMTP_PORT": "{silent_port}", "SMTP_TIMEOUT": "1"}),
    Case("an SMTP port that speaks HTTP", TEXT, 1, ("SMTP",),
         env={**SENDMAIL, "SMTP_PORT": "{babbler_port}"}),
    Case("SMTP over SSL to a plain port", TEXT, 1, ("SMTP_SECURITY",),
         env={**SENDMAIL, "SMTP_PORT": "{babbler_port}", "SMTP_SECURITY": "ssl"}),
    Case("an SMTP host that does not resolve", TEXT, 1, ("SMTP_HOST", "smtp.invalid"),
         env={**SENDMAIL, "SMTP_HOST": "smtp.invalid"}),
    Case("an SMTP password without a user", TEXT, 1, ("SMTP_USER", "set"), env={**SENDMAIL, "SMTP_USER": None}),
    Case("CUSTOM_CA_CERTS that is no certificate", TEXT, 1, ("CUSTOM_CA_CERTS",),
         env={**SENDMAIL, "CUSTOM_CA_CERTS": "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----"}),
    Case("CUSTOM_CA_CERTS naming a missing file", TEXT, 1, ("CUSTOM_CA_CERTS",),
         env={**SENDMAIL, "CUSTOM_CA_CERTS": "/nonexistent/ca.pem"}),
    _report("closed", ("SONAR_INTERNAL_ADDR", "reach")),
    _report("g_html", ("SONAR_INTERNAL_ADDR", "api/server/version")),
    _report("g_list", ("api/", "SONAR_INTERNAL_ADDR")),
    _report("g_null", ("api/", "SONAR_INTERNAL_ADDR")),
    _report("g_empty", ("api/", "SONAR_INTERNAL_ADDR")),
    _report("g_types", ("api/", "SONAR_INTERNAL_ADDR")),
    _report("g_shapes", ("api/", "SONAR_INTERNAL_ADDR")),
    _report("g_truncated", ("api/", "SONAR_INTERNAL_ADDR")),
    _report("g_error", ("500", "SONAR_INTERNAL_ADDR")),
    _report("g_teapot", ("418", "SONAR_INTERNAL_ADDR")),
    Case("the report with a user:password@ internal URL", ("send-mail", "sonar", "--preview", "out"), 1,
         ("SONAR_INTERNAL_ADDR", "credentials"), env={**SONAR_MAIL, "SONAR_INTERNAL_ADDR": "http://u:{secret}@h.example"}),
    _pipeline("closed", ("--gitlab-url", "reach")),
    _pipeline("g_html", ("GitLab", "--gitlab-url")),
    _pipeline("g_list", ("GitLab", "--gitlab-url")),
    _pipeline("g_null", ("GitLab", "--gitlab-url")),
    _pipeline("g_empty", ("GitLab", "--gitlab-url")),
    _pipeline("g_types", ("GitLab", "--gitlab-url")),
    _pipeline("g_truncated", ("GitLab", "--gitlab-url")),
    _pipeline("g_error", ("GitLab", "500")),
    Case("the pipeline without a GitLab URL", ("send-mail", "pipeline", "--preview", "out", "--project-id", "1",
                                                "--pipeline-id", "7"), 1, ("--gitlab-url", "CI_SERVER_URL"),
         env=SENDMAIL),
    Case("the pipeline with a GitLab URL without a scheme", ("send-mail", "pipeline", "--preview", "out",
                                                             "--gitlab-url", "gitlab.example.com", "--project-id", "1",
                                                             "--pipeline-id", "7"), 2, ("--gitlab-url", "http"),
         env=SENDMAIL),
    Case("the pipeline with a GitLab URL carrying a token", ("send-mail", "pipeline", "--preview", "out",
                                                             "--gitlab-url", "https://oauth2:{secret}@gitlab.example.com",
                                                             "--project-id", "1", "--pipeline-id", "7"), 2,
         ("--gitlab-url", "credentials"), env=SENDMAIL),
    Case("the pipeline with CI_SERVER_URL without a scheme", ("send-mail", "pipeline", "--preview", "out"), 1,
         ("CI_SERVER_URL", "http"), env={**SENDMAIL, "CI_SERVER_URL": "gitlab.example.com", "CI_PROJECT_ID": "1",
                                         "CI_PIPELINE_ID": "7"}),
    Case("the pipeline id not a number", ("send-mail", "pipeline", "--pipeline-id", "seven"), 2, ("--pipeline-id",),
         env=SENDMAIL),
    Case("the pipeline without a token or a job", ("send-mail", "pipeline", "--preview", "out", "--gitlab-url",
                                                   "{closed}", "--project-id", "1", "--pipeline-id", "7"), 1,
         ("GITLAB_TOKEN", "set"), env={**SENDMAIL, "GITLAB_TOKEN": None, "CI_JOB_TOKEN": None}),
]

# -- maven-configure and npm-configure -------------------------------------------------------------

MAVEN_CASES = [
    Case("a typo of --output", ("maven-configure", "--ouput", "s.xml"), 2, ("--ouput", "--output")),
    Case("--output into a missing folder", ("maven-configure", "--output", "no/such/dir/settings.xml"), 2,
         ("--output", "no/such/dir")),
    Case("--output onto a folder", ("maven-configure", "--output", "dir"), 2, ("--output", "dir"),
         files={"dir": Folder()}),
    Case("MAVEN_REPO_USER without a password", ("maven-configure",), 1, ("MAVEN_REPO_PASSWORD", "set"),
         env={"MAVEN_REPO_USER": "ci", "MAVEN_REPO_PASSWORD": None}),
    Case("a password without MAVEN_REPO_USER", ("maven-configure",), 1, ("MAVEN_REPO_USER", "set"),
         env={"MAVEN_REPO_USER": None}),
    Case("a second mirror without its repositories", ("maven-configure",), 1, ("MAVEN_SECOND_MIRROR_OF", "set"),
         env={"MAVEN_SECOND_MIRROR_URL": "https://nexus.example.com/vendor"}),
    Case("MAVEN_CLI_OPTS with an unbalanced quote", ("maven-configure",), 1, ("MAVEN_CLI_OPTS", "quote"),
         env={"MAVEN_CLI_OPTS": "-Dx='a b"}),
    Case("MAVEN_EXTRA_SETTINGS missing", ("maven-configure",), 1, ("MAVEN_EXTRA_SETTINGS", "extra.xml"),
         env={"MAVEN_EXTRA_SETTINGS": "extra.xml"}),
    Case("MAVEN_EXTRA_SETTINGS not XML", ("maven-configure",), 1, ("MAVEN_EXTRA_SETTINGS", "XML"),
         env={"MAVEN_EXTRA_SETTINGS": "extra.xml"}, files={"extra.xml": "<settings>"}),
    Case("MAVEN_EXTRA_SETTINGS a folder", ("maven-configure",), 1, ("MAVEN_EXTRA_SETTINGS", "extra"),
         env={"MAVEN_EXTRA_SETTINGS": "extra"}, files={"extra": Folder()}),
    Case("MAVEN_EXTRA_SETTINGS with an entity bomb", ("maven-configure",), 1, ("MAVEN_EXTRA_SETTINGS",),
         env={"MAVEN_EXTRA_SETTINGS": "extra.xml"},
         files={"extra.xml": '<?xml version="1.0"?><!DOCTYPE s [<!ENTITY a "aaaaaaaaaa">'
                             '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
                             '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><settings>&c;</settings>'}),
    Case("CUSTOM_CA_CERTS that is no certificate", ("maven-configure",), 1, ("CUSTOM_CA_CERTS",),
         env={"CUSTOM_CA_CERTS": "not a certificate"}),
    Case("a proxy URL with a port above 65535", ("maven-configure",), 1, ("https_proxy",),
         env={"https_proxy": "http://proxy.example.com:70000"}),
    Case("a proxy URL carrying a password", ("maven-configure",), 1, ("https_proxy",),
         env={"https_proxy": "http://u:{secret}@proxy.example.com:3128:99"}),
    Case("the bare first call with a bad mirror", ("maven-configure",), 1, ("MAVEN_MIRROR_URL", "http"),
         env={"MAVEN_MIRROR_URL": "nexus.example.com"}),
    Case("the quiet first call with a bad mirror", ("maven-configure", "-q"), 1, ("MAVEN_MIRROR_URL", "http"),
         env={"MAVEN_MIRROR_URL": "nexus.example.com"}),
]

NPM_CASES = [
    Case("a typo of --check-publish", ("npm-configure", "--check-publsh"), 2, ("--check-publsh", "--check-publish")),
    Case("--output into a missing folder", ("npm-configure", "--output", "no/such/dir/.npmrc"), 2,
         ("--output", "no/such/dir")),
    Case("a scope without an @", ("npm-configure",), 1, ("NPM_SCOPED_REGISTRIES", "@"),
         env={"NPM_SCOPED_REGISTRIES": "corp=https://npm.example.com/corp/"}),
    Case("a scope without a URL", ("npm-configure",), 1, ("NPM_SCOPED_REGISTRIES",),
         env={"NPM_SCOPED_REGISTRIES": "@corp"}),
    Case("a scope whose URL has a line break", ("npm-configure",), 1, ("NPM_SCOPED_REGISTRIES",),
         env={"NPM_SCOPED_REGISTRIES": "@corp=https://npm.example.com/\nscript-shell=/tmp/evil"}),
    Case("a scope whose URL carries a token", ("npm-configure",), 1, ("NPM_SCOPED_REGISTRIES", "credentials"),
         env={"NPM_SCOPED_REGISTRIES": "@corp=https://u:{secret}@npm.example.com/"}),
    Case("a scope whose URL has no scheme", ("npm-configure",), 1, ("NPM_SCOPED_REGISTRIES", "http"),
         env={"NPM_SCOPED_REGISTRIES": "@corp=npm.example.com/corp/"}),
    Case("a scope named twice", ("npm-configure",), 1, ("NPM_SCOPED_REGISTRIES", "@corp"),
         env={"NPM_SCOPED_REGISTRIES": "@corp=https://a.example.com/,@corp=https://b.example.com/"}),
    Case("CUSTOM_CA_CERTS naming a folder without certificates", ("npm-configure",), 1, ("CUSTOM_CA_CERTS",),
         env={"CUSTOM_CA_CERTS": "{work}/cas"}, files={"cas/readme.txt": "none here"}),
    Case("the bare first call with a bad registry", ("npm-configure",), 1, ("NPM_REGISTRY_URL", "http"),
         env={"NPM_REGISTRY_URL": "registry.example.com"}),
    Case("--check-publish without a token", ("npm-configure", "--check-publish"), 1, ("NPM_TOKEN", "set"),
         env={"NPM_TOKEN": None, "NPM_REGISTRY_URL": "https://npm.example.com/"}),
]

# -- package-manager ---------------------------------------------------------------------------------
# Every case fails before the tool is exec'd (which would replace this process): a real process each.

PACKAGE = {"package.json": '{"name": "@corp/app", "version": "1.0.0", "scripts": {"build": "node build.js"}}'}
TWO_LOCKS = {**PACKAGE, "pnpm-lock.yaml": "lockfileVersion: '9.0'\n", "package-lock.json": "{}"}


def _pm(step: tuple[str, ...]) -> list[Case]:
    """The bad project folders and settings every step refuses before it runs anything."""
    argv = ("package-manager", *step)
    on = " ".join(step)
    return [
        Case(f"{on}: no package.json", argv, 1, ("package.json", "project's folder"), inprocess=False),
        Case(f"{on}: a package.json that is not JSON", argv, 1, ("package.json", "fix"),
             files={"package.json": '{"name": "@corp/app",'}, inprocess=False),
        Case(f"{on}: two lockfiles and NPM_PACKAGE_MANAGER=auto", argv, 1, ("NPM_PACKAGE_MANAGER", "pnpm-lock.yaml"),
             files=TWO_LOCKS, inprocess=False),
        Case(f"{on}: NPM_PACKAGE_MANAGER naming another tool", argv, 1, ("NPM_PACKAGE_MANAGER", "auto, npm, yarn, pnpm"),
             env={"NPM_PACKAGE_MANAGER": "bower"}, files=PACKAGE, inprocess=False),
    ]


PACKAGE_MANAGER_CASES = [
    *_pm(("install",)),
    Case("NPM_PACKAGE_MANAGER=yarn without yarn.lock", ("package-manager", "install"), 1,
         ("NPM_PACKAGE_MANAGER", "yarn.lock"), env={"NPM_PACKAGE_MANAGER": "yarn"}, files=PACKAGE, inprocess=False),
    *_pm(("run", "build")),
    Case("a script package.json does not have", ("package-manager", "run", "lint"), 1, ("lint", "--if-present"),
         files=PACKAGE, inprocess=False),
    Case("no script name", ("package-manager", "run"), 2, ("NAME",), files=PACKAGE, inprocess=False),
    *_pm(("test",)),
    Case("NPM_PACKAGE_MANAGER in capitals", ("package-manager", "test"), 1, ("NPM_PACKAGE_MANAGER", "pnpm"),
         env={"NPM_PACKAGE_MANAGER": "PNPM"}, files=PACKAGE, inprocess=False),
    *_pm(("publish",)),
    Case("the project folder is a package.json folder", ("package-manager", "publish"), 1, ("package.json",),
         files={"package.json/readme.txt": "a folder, not the file"}, inprocess=False),
    *_pm(("which",)),
    Case("a typo of --help", ("package-manager", "which", "--hlep"), 2, ("--hlep", "--help"), files=PACKAGE,
         inprocess=False),
]

# -- screenshot --------------------------------------------------------------------------------------

SHOT = ("screenshot", "https://example.com", "-o", "page.png")
SCREENSHOT_CASES = [
    Case("nothing to capture", ("screenshot",), 2, ("URL", "--config")),
    Case("a URL and --config", ("screenshot", "https://example.com", "--config", "shots.yml"), 2,
         ("--config", "URL")),
    Case("--output without a URL", ("screenshot", "-o", "x.png"), 2, ("--output", "URL")),
    Case("a typo of --full-page", (*SHOT, "--fullpage"), 2, ("--fullpage", "--full-page")),
    Case("--width not a number", (*SHOT, "--width", "wide"), 2, ("--width", "whole number")),
    Case("--width below 1", (*SHOT, "--width", "0"), 2, ("--width",)),
    Case("--height too large", (*SHOT, "--height", "100000"), 2, ("--height",)),
    Case("--scale too large", (*SHOT, "--scale", "9"), 2, ("--scale",)),
    Case("--delay not a time", (*SHOT, "--delay", "soon"), 2, ("--delay",)),
    Case("--delay beyond its ceiling", (*SHOT, "--delay", "100000"), 2, ("--delay",)),
    Case("--delay negative", (*SHOT, "--delay", "-1"), 2, ("--delay",)),
    Case("--timeout zero", (*SHOT, "--timeout", "0"), 2, ("--timeout",)),
    Case("--timeout beyond its ceiling", (*SHOT, "--timeout", "100000"), 2, ("--timeout",)),
    Case("--wait-until unknown", (*SHOT, "--wait-until", "idle"), 2, ("--wait-until", "one of")),
    Case("--format unknown", ("screenshot", "https://example.com", "-f", "gif"), 2, ("--format",)),
    Case("--quality above 100", ("screenshot", "https://example.com", "-o", "p.jpg", "-q", "101"), 2,
         ("--quality",)),
    Case("--pdf-format unknown", ("screenshot", "https://example.com", "-o", "p.pdf", "--pdf-format", "A9"), 2,
         ("--pdf-format",)),
    Case("--margin not lengths", ("screenshot", "https://example.com", "-o", "p.pdf", "--margin", "wide"), 2,
         ("--margin",)),
    Case("--cookie without =", (*SHOT, "--cookie", "session"), 2, ("--cookie", "NAME=VALUE")),
    Case("--header without a colon", (*SHOT, "-H", "X-Token {secret}"), 2, ("--header", "NAME: VALUE")),
    Case("--auth without a colon", (*SHOT, "--auth", "{secret}"), 2, ("--auth", "USER:PASSWORD")),
    Case("SCREENSHOT_AUTH without a colon", SHOT, 1, ("SCREENSHOT_AUTH", "USER:PASSWORD"),
         env={"SCREENSHOT_AUTH": "{secret}"}),
    Case("a URL of another scheme", ("screenshot", "ftp://example.com/x", "-o", "x.png"), 2, ("ftp://", "http")),
    Case("a URL with credentials", ("screenshot", "https://u:{secret}@example.com/", "-o", "x.png"), 2,
         ("credentials", "--auth")),
    Case("-o with an unknown extension", ("screenshot", "https://example.com", "-o", "x.gif"), 2, ("x.gif",)),
    Case("-o naming a folder", ("screenshot", "https://example.com", "-o", "shots"), 2, ("--output", "folder"),
         files={"shots": Folder()}),
    Case("--config missing", ("screenshot", "--config", "gone.yml"), 2, ("--config", "gone.yml")),
    Case("--config a folder", ("screenshot", "--config", "shots"), 2, ("--config", "folder"),
         files={"shots": Folder()}),
    Case("SCREENSHOT_CONFIG missing", ("screenshot",), 1, ("SCREENSHOT_CONFIG", "gone.yml"),
         env={"SCREENSHOT_CONFIG": "gone.yml"}),
    Case("the default shots.yml a folder", ("screenshot",), 1, ("SCREENSHOT_CONFIG", "folder"),
         files={"shots.yml": Folder()}),
    Case("a shots file that is not YAML", ("screenshot", "--config", "shots.yml"), 1, ("shots.yml", "YAML"),
         files={"shots.yml": "shots: [\n"}),
    Case("a shots file that is not UTF-8", ("screenshot", "--config", "shots.yml"), 1, ("shots.yml", "UTF-8"),
         files={"shots.yml": b"shots:\n  - \xff\xfe\n"}),
    Case("a shots file with an alias bomb", ("screenshot", "--config", "shots.yml"), 1, ("shots.yml", "alias"),
         files={"shots.yml": "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                             "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                             "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e]\n"
                             "shots: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"}),
    Case("a shots file that is a number", ("screenshot", "--config", "shots.yml"), 1, ("shots.yml", "shots"),
         files={"shots.yml": "42\n"}),
    Case("a shots file without shots", ("screenshot", "--config", "shots.yml"), 1, ("shots.yml", "shots"),
         files={"shots.yml": "defaults: {width: 800}\n"}),
    Case("a shot escaping --output-dir", ("screenshot", "--config", "shots.yml"), 1, ("output", "../"),
         files={"shots.yml": "shots:\n  - url: https://example.com\n    output: ../../escape.png\n"}),
    Case("a shot with an absolute output", ("screenshot", "--config", "shots.yml"), 1, ("output", "/tmp/x.png"),
         files={"shots.yml": "shots:\n  - url: https://example.com\n    output: /tmp/x.png\n"}),
    Case("a shot with an unknown key", ("screenshot", "--config", "shots.yml"), 1, ("shots.yml", "full_pag"),
         files={"shots.yml": "shots:\n  - url: https://example.com\n    full_pag: true\n"}),
    Case("a shot with a bad width", ("screenshot", "--config", "shots.yml"), 1, ("shots.yml", "width"),
         files={"shots.yml": "shots:\n  - url: https://example.com\n    width: -3\n"}),
    Case("a shot naming an unset variable", ("screenshot", "--config", "shots.yml"), 1, ("NO_SUCH_TOKEN",),
         files={"shots.yml": "shots:\n  - url: https://example.com\n    headers: {A: '${NO_SUCH_TOKEN}'}\n"}),
    Case("two shots writing one file", ("screenshot", "--config", "shots.yml"), 1, ("same.png",),
         files={"shots.yml": "shots:\n  - {url: 'https://a.example.com', output: same.png}\n"
                             "  - {url: 'https://b.example.com', output: same.png}\n"}),
    Case("a page that is down", ("screenshot", "{closed}/", "-o", "x.png", "--timeout", "5"), 1, ("127.0.0.1",),
         browser=True),
    Case("CHROMIUM_PATH missing", SHOT, 1, ("CHROMIUM_PATH",), env={"CHROMIUM_PATH": "/nonexistent/chromium"}),
]

# -- gitops-bump -----------------------------------------------------------------------------------

GITOPS = {"GITOPS_REPO_URL": "{closed}/config.git", "GITOPS_ENVIRONMENT": "dev",
          "GITOPS_IMAGE": "registry.example.com/shop/orders:1.0.0", "GITOPS_APP": "orders"}
GITOPS_CASES = [
    Case("an environment with ../", ("gitops-bump",), 1, ("GITOPS_ENVIRONMENT",),
         env={**GITOPS, "GITOPS_ENVIRONMENT": "../../etc"}),
    Case("an environment not known", ("gitops-bump",), 1, ("GITOPS_ENVIRONMENT", "GITOPS_ENVIRONMENTS"),
         env={**GITOPS, "GITOPS_ENVIRONMENT": "qa"}),
    Case("environments with ../", ("gitops-bump",), 1, ("GITOPS_ENVIRONMENTS",),
         env={**GITOPS, "GITOPS_ENVIRONMENTS": "dev,../prod"}),
    Case("protected environments not known", ("gitops-bump",), 1, ("GITOPS_PROTECTED_ENVIRONMENTS",),
         env={**GITOPS, "GITOPS_PROTECTED_ENVIRONMENTS": "staging"}),
    Case("an image without a tag", ("gitops-bump",), 1, ("GITOPS_IMAGE", "tag"),
         env={**GITOPS, "GITOPS_IMAGE": "registry.example.com/shop/orders"}),
    Case("an image with a bad digest", ("gitops-bump",), 1, ("GITOPS_IMAGE", "sha256"),
         env={**GITOPS, "GITOPS_IMAGE": "registry.example.com/shop/orders:1.0@sha256:abc"}),
    Case("an image that is a URL", ("gitops-bump",), 1, ("GITOPS_IMAGE",),
         env={**GITOPS, "GITOPS_IMAGE": "https://registry.example.com/shop/orders:1.0"}),
    Case("an app with ../", ("gitops-bump",), 1, ("GITOPS_APP",), env={**GITOPS, "GITOPS_APP": "../../etc"}),
    Case("an app in capitals", ("gitops-bump",), 1, ("GITOPS_APP",), env={**GITOPS, "GITOPS_APP": "Orders"}),
    Case("no app and no pipeline", ("gitops-bump",), 1, ("GITOPS_APP", "set"), env={**GITOPS, "GITOPS_APP": None}),
    Case("an apps folder outside the repository", ("gitops-bump",), 1, ("GITOPS_APPS_DIR",),
         env={**GITOPS, "GITOPS_APPS_DIR": "../outside"}),
    Case("an absolute ArgoCD folder", ("gitops-bump",), 1, ("GITOPS_ARGOCD_DIR",),
         env={**GITOPS, "GITOPS_ARGOCD_DIR": "/etc"}),
    Case("a branch that is no branch name", ("gitops-bump",), 1, ("GITOPS_BRANCH",),
         env={**GITOPS, "GITOPS_BRANCH": "main..x"}),
    Case("the job token as GITOPS_TOKEN", ("gitops-bump",), 1, ("GITOPS_TOKEN", "CI_JOB_TOKEN"),
         env={**GITOPS, "GITOPS_TOKEN": "{secret}", "CI_JOB_TOKEN": "{secret}"}),
    Case("a config repository that is down", ("gitops-bump",), 1, ("GITOPS_REPO_URL",), env=GITOPS),
    Case("a config repository answering a login page", ("gitops-bump",), 1, ("GITOPS_REPO_URL",),
         env={**GITOPS, "GITOPS_REPO_URL": "{g_html}/config.git"}),
    Case("a config repository answering 500", ("gitops-bump",), 1, ("GITOPS_REPO_URL",),
         env={**GITOPS, "GITOPS_REPO_URL": "{g_error}/config.git"}),
    Case("a typo of --dry-run", ("gitops-bump", "--dryrun"), 2, ("--dryrun", "--dry-run"), env=GITOPS),
    Case("a dry run against a repository that is down", ("gitops-bump", "--dry-run"), 1, ("GITOPS_REPO_URL",),
         env=GITOPS),
]

# The planted MAVEN_REPO_PASSWORD and NPM_TOKEN come with the user and registry they belong to.
MAVEN_CASES = [replace(c, env={**MAVEN, **c.env}) for c in MAVEN_CASES]
NPM_CASES = [replace(c, env={**NPM, **c.env}) for c in NPM_CASES]
CASES: list[Case] = [*SONAR_CASES, *SENDMAIL_CASES, *MAVEN_CASES, *NPM_CASES, *PACKAGE_MANAGER_CASES,
                     *SCREENSHOT_CASES, *GITOPS_CASES]
