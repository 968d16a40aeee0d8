"""`send-mail sonar` end to end: SonarQube stub -> report -> real SMTP server -> parsed MIME."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sendmail_support import SMTP_PASSWORD, SMTP_USER, mail_env

from tests.fixtures import run_cli
from tests.servers.sonarqube import SCRIPT_MESSAGE, TOKEN

EXTERNAL = "https://sonar.example.com"


def design_args(stub_url: str, to: str = "dev-team@example.com;qa@example.com", cc: str = "") -> list[str]:
    """Exactly the design's job script, with $EMAIL_CC_LIST possibly unset (empty)."""
    return ["send-mail", "sonar", f"--email-to={to}", f"--email-cc={cc}", "--sonar-project-id=my_project",
            f"--sonar-internal-url={stub_url}", f"--sonar-external-url={EXTERNAL}"]


def env_for(smtp, **extra: str) -> dict[str, str]:
    return mail_env(**{**smtp.env(), "EMAIL_FROM": "Sonar reports <sonar@example.com>", "SONAR_TOKEN": TOKEN,
                       **extra})


# (version, mode): every version the stand-in knows, both modes where they exist.
REPORT_CASES = [("9.9", "MQR"), ("10.4", "MQR"), ("10.5", "MQR"), ("10.6", "MQR"), ("10.7", "MQR"),
                ("10.8", "STANDARD"), ("10.8", "MQR"), ("2025.1", "STANDARD"), ("2025.1", "MQR"), ("2026.4", "MQR")]


@pytest.mark.parametrize("version, mode", REPORT_CASES, ids=[f"{v}-{m}" for v, m in REPORT_CASES])
def test_report_mail_is_complete_correct_and_safe(sonar, smtp_server, version, mode):
    stub = sonar(version, mode=mode)
    mqr = stub.state.mqr
    smtp = smtp_server()
    r = run_cli(*design_args(stub.url, cc="lead@example.com"), env=env_for(smtp))
    assert r.returncode == 0, r.stderr
    assert len(smtp.messages) == 1
    mail = smtp.messages[0]
    msg = mail.message
    assert sorted(mail.rcpt_tos) == ["dev-team@example.com", "lead@example.com", "qa@example.com"]
    assert msg["Cc"] == "lead@example.com"
    assert msg["From"] == "Sonar reports <sonar@example.com>"
    assert msg["Subject"] == "[SonarQube] FAILED · My Project · 2 conditions failed"
    assert msg.get_content_type() == "multipart/mixed"
    html, text = mail.html, mail.text

    # Gate status and conditions, measures and ratings.
    assert "FAILED" in html and "2 of 4 conditions failed" in html
    assert "Coverage on new code" in html and "64.0%" in html and "required ≥ 80.0%" in html
    assert "18,234" in html and "71.4%" in html and "5d 5h" in html
    assert "since version 1.4.0, 2 Jun 2025" in html
    assert "analysed 9 Jun 2025, 10:34 UTC+02:00" in html
    # Counts from facets and the top new issues with rule and file:line.
    assert "145 in total" in html
    assert "Invoice0.java:10" in html and "java:S1000" in html
    assert "Make sure that hashing data is safe here (0)." in html and "Login0.java:40" in html
    if mqr:
        assert "By software quality" in html and "software-quality (MQR) ratings" in html
    else:
        assert "By type" in html and "Vulnerabilities" in html and "MQR" not in html

    # Links use the external URL only; the internal one appears nowhere.
    hrefs = re.findall(r'href="([^"]+)"', html)
    assert len(hrefs) > 30
    assert all(h.startswith(EXTERNAL + "/") for h in hrefs), [h for h in hrefs if not h.startswith(EXTERNAL)]
    assert f"{EXTERNAL}/dashboard?id=my_project" in hrefs
    assert f"{EXTERNAL}/project/issues?id=my_project&amp;open=AY-issue-000000" in html
    assert f"{EXTERNAL}/security_hotspots?id=my_project&amp;hotspots=AY-hotspot-0000" in html
    assert stub.url not in mail.decoded()
    assert "127.0.0.1" not in mail.decoded()

    # A Sonar message holding markup is escaped in HTML and kept readable in text.
    assert "<script>" not in html
    assert "Remove this call to &lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt; before release" in html
    assert SCRIPT_MESSAGE in text

    # The text alternative carries the same facts.
    assert "Quality gate: FAILED (2 of 4 conditions failed)" in text
    assert "FAILED  Coverage on new code" in text and "64.0%" in text
    assert f"Dashboard: {EXTERNAL}/dashboard?id=my_project" in text
    assert f"{EXTERNAL}/project/issues?id=my_project&open=AY-issue-000000" in text

    # Version-appropriate parameters, in a fixed handful of calls; never a secret in the log. From 10.8 the
    # mode is read, and MQR mode ranks the top issues by impact in at most two more calls.
    assert stub.state.deprecated_used == (["api/hotspots/search"] if version == "2026.4" else [])
    expected = 7 if not stub.state.v >= (10, 8) else 8 if not mqr else 10
    assert stub.state.calls() <= expected and stub.state.calls() >= expected - (1 if mqr else 0)
    assert TOKEN not in r.stderr + r.stdout


def test_internal_url_quoted_by_sonar_is_rewritten(sonar, smtp_server):
    stub = sonar("10.7")
    stub.state.message_extra = f" (see {stub.url}/coding_rules)"
    smtp = smtp_server()
    r = run_cli(*design_args(stub.url), env=env_for(smtp))
    assert r.returncode == 0, r.stderr
    decoded = smtp.messages[0].decoded()
    assert stub.url not in decoded
    assert f"(see {EXTERNAL}/coding_rules)" in smtp.messages[0].text


def test_unknown_metric_is_dropped_and_retried_once(sonar, smtp_server):
    stub = sonar("2025.1", unknown_metrics={"software_quality_security_rating", "new_software_quality_security_rating"})
    smtp = smtp_server()
    r = run_cli(*design_args(stub.url), env=env_for(smtp))
    assert r.returncode == 0, r.stderr
    measure_calls = [p for path, p in stub.state.requests if path == "api/measures/component"]
    assert len(measure_calls) == 2
    assert "software_quality_security_rating" in measure_calls[0]["metricKeys"]
    assert "software_quality_security_rating" not in measure_calls[1]["metricKeys"].split(",")
    assert len(smtp.messages) == 1


def test_absent_metrics_show_as_no_data(sonar, smtp_server):
    stub = sonar("10.7", absent_metrics={"coverage", "new_coverage"})
    smtp = smtp_server()
    r = run_cli(*design_args(stub.url), env=env_for(smtp))
    assert r.returncode == 0, r.stderr
    text = smtp.messages[0].text
    assert re.search(r"Coverage\s+–", text)


def test_passed_gate_subject(sonar, smtp_server):
    stub = sonar("10.7", gate_status="OK", conditions=[
        {"status": "OK", "metricKey": "new_coverage", "comparator": "LT", "errorThreshold": "80", "actualValue": "91.2"}])
    smtp = smtp_server()
    r = run_cli(*design_args(stub.url), env=env_for(smtp))
    assert r.returncode == 0, r.stderr
    assert smtp.messages[0].message["Subject"] == "[SonarQube] PASSED · My Project"
    assert "All 1 condition met" in smtp.messages[0].html


@pytest.mark.parametrize("gate, sent", [("OK", 0), ("ERROR", 1)])
def test_only_on_failure(sonar, smtp_server, gate, sent):
    stub = sonar("10.7", gate_status=gate)
    smtp = smtp_server()
    r = run_cli(*design_args(stub.url), "--only-on-failure", env=env_for(smtp))
    assert r.returncode == 0, r.stderr
    assert len(smtp.messages) == sent
    if not sent:
        assert "no mail (only on failure)" in r.stderr


def test_shell_split_address_list_is_rejoined(sonar, smtp_server):
    stub = sonar("10.7")
    smtp = smtp_server()
    # --email-to=$EMAIL_TO_LIST unquoted, with EMAIL_TO_LIST="dev@example.com, ops@example.com"
    args = design_args(stub.url, to="dev@example.com,")
    args.insert(3, "ops@example.com")
    r = run_cli(*args, env=env_for(smtp))
    assert r.returncode == 0, r.stderr
    assert sorted(smtp.messages[0].rcpt_tos) == ["dev@example.com", "ops@example.com"]


def test_flags_fall_back_to_variables(sonar, smtp_server):
    stub = sonar("9.9")
    smtp = smtp_server()
    env = env_for(smtp, EMAIL_TO_LIST="a@example.com", PROJECT_NAME="my_project", SONAR_INTERNAL_ADDR=stub.url,
                  SONAR_EXTERNAL_ADDR=EXTERNAL, SENDMAIL_TOP_ISSUES="3")
    r = run_cli("send-mail", "sonar", "--email-to=", "--email-cc=", env=env)
    assert r.returncode == 0, r.stderr
    assert "top 3 of 10" in smtp.messages[0].html


def test_starttls_with_login(sonar, smtp_server, tls_cert, tmp_path):
    stub = sonar("10.7")
    smtp = smtp_server("starttls", auth=True)
    password_file = tmp_path / "smtp-password"
    password_file.write_text(SMTP_PASSWORD)
    r = run_cli(*design_args(stub.url), env=env_for(smtp, SMTP_USER=SMTP_USER, SMTP_PASSWORD_FILE=str(password_file),
                                                      CUSTOM_CA_CERTS=str(tls_cert[0])))
    assert r.returncode == 0, r.stderr
    mail = smtp.messages[0]
    assert mail.tls and mail.login == SMTP_USER
    assert mail.mail_from == "sonar@example.com"
    assert SMTP_PASSWORD not in r.stderr + r.stdout + mail.decoded()


def test_implicit_tls(sonar, smtp_server, tls_cert):
    stub = sonar("10.7")
    smtp = smtp_server("ssl", auth=True)
    r = run_cli(*design_args(stub.url), env=env_for(smtp, SMTP_USER=SMTP_USER, SMTP_PASSWORD=SMTP_PASSWORD,
                                                      CUSTOM_CA_CERTS=tls_cert[0].read_text()))
    assert r.returncode == 0, r.stderr
    assert smtp.messages[0].tls


def test_untrusted_certificate_is_refused(sonar, smtp_server):
    stub = sonar("10.7")
    smtp = smtp_server("starttls")
    r = run_cli(*design_args(stub.url), env=env_for(smtp))
    assert r.returncode == 1
    assert f"TLS with SMTP server 127.0.0.1:{smtp.port} failed" in r.stderr and "CUSTOM_CA_CERTS" in r.stderr
    assert smtp.messages == []


def test_wrong_smtp_password(sonar, smtp_server, tls_cert):
    stub = sonar("10.7")
    smtp = smtp_server("starttls", auth=True)
    r = run_cli(*design_args(stub.url), env=env_for(smtp, SMTP_USER=SMTP_USER, SMTP_PASSWORD="wrong-password",
                                                      CUSTOM_CA_CERTS=str(tls_cert[0])))
    assert r.returncode == 1
    assert f"SMTP server 127.0.0.1:{smtp.port} rejected the login of {SMTP_USER} (535" in r.stderr
    assert "wrong-password" not in r.stderr
    assert r.stderr.count("error:") == 1 and "Traceback" not in r.stderr


def test_smtp_refusing_the_mail(sonar, smtp_server):
    from sendmail_support import Handler
    stub = sonar("10.7")
    smtp = smtp_server(handler=Handler(data_replies=["554 5.7.1 Message rejected as spam"]))
    r = run_cli(*design_args(stub.url), env=env_for(smtp))
    assert r.returncode == 1
    assert f"SMTP server 127.0.0.1:{smtp.port} refused the mail (554 5.7.1 Message rejected as spam)" in r.stderr
    assert smtp.handler.data_calls == 1  # a permanent refusal is not retried


def test_smtp_server_down(sonar):
    from tests.fixtures import free_port
    stub = sonar("10.7")
    port = free_port()
    env = mail_env(SMTP_HOST="127.0.0.1", SMTP_PORT=str(port), SMTP_RETRIES="0", EMAIL_FROM="sonar@example.com",
                   SONAR_TOKEN=TOKEN)
    r = run_cli(*design_args(stub.url), env=env)
    assert r.returncode == 1
    assert f"could not send the mail through SMTP server 127.0.0.1:{port} after 1 attempt" in r.stderr


def test_bad_recipient_fails_before_any_network_call(sonar, smtp_server):
    stub = sonar("10.7")
    smtp = smtp_server()
    r = run_cli(*design_args(stub.url, to="dev-team@example.com;not-an-address"), env=env_for(smtp))
    assert r.returncode == 2
    assert "--email-to has invalid address(es) not-an-address" in r.stderr
    assert stub.state.calls() == 0 and smtp.handler.data_calls == 0


def test_bad_sender_fails_before_any_network_call(sonar, smtp_server):
    stub = sonar("10.7")
    smtp = smtp_server()
    r = run_cli(*design_args(stub.url), env=env_for(smtp, EMAIL_FROM="sonar at example"))
    assert r.returncode == 1
    assert "EMAIL_FROM='sonar at example' is not an email address" in r.stderr
    assert stub.state.calls() == 0


def test_sonar_server_error(sonar, smtp_server):
    stub = sonar("10.7", fail={"api/measures/component": (500, "An error has occurred. Please contact your administrator")})
    smtp = smtp_server()
    r = run_cli(*design_args(stub.url), env=env_for(smtp))
    assert r.returncode == 1
    assert f"SonarQube at {stub.url} (SONAR_INTERNAL_ADDR) failed with HTTP 500 on api/measures/component" in r.stderr
    assert r.stderr.count("error:") == 1 and "Traceback" not in r.stderr
    assert smtp.messages == []


def test_sonar_timeout(sonar, smtp_server):
    stub = sonar("10.7", delay={"api/issues/search": 10})
    smtp = smtp_server()
    r = run_cli(*design_args(stub.url), env=env_for(smtp, SONAR_TIMEOUT="1"))
    assert r.returncode == 1
    assert f"SonarQube at {stub.url} (SONAR_INTERNAL_ADDR) did not answer api/issues/search within 1 s" in r.stderr
    assert "check that SONAR_INTERNAL_ADDR points at a healthy server" in r.stderr
    assert smtp.messages == []


def test_wrong_sonar_token(sonar, smtp_server):
    stub = sonar("10.7")
    smtp = smtp_server()
    r = run_cli(*design_args(stub.url), env=env_for(smtp, SONAR_TOKEN="squ_wrong_token"))
    assert r.returncode == 1
    assert f"SonarQube at {stub.url} (SONAR_INTERNAL_ADDR) rejected the token (401 on " in r.stderr and "SONAR_TOKEN" in r.stderr
    assert "squ_wrong_token" not in r.stderr
    assert smtp.messages == []


def test_unknown_project(sonar, smtp_server):
    stub = sonar("10.7")
    smtp = smtp_server()
    args = [a.replace("--sonar-project-id=my_project", "--sonar-project-id=no_such") for a in design_args(stub.url)]
    r = run_cli(*args, env=env_for(smtp))
    assert r.returncode == 1
    assert "has no project 'no_such'" in r.stderr and "PROJECT_NAME (--sonar-project-id)" in r.stderr


def test_screenshot_inline_and_attachment(sonar, smtp_server, tmp_path):
    from PIL import Image
    stub = sonar("10.7")
    smtp = smtp_server()
    shot = tmp_path / "dashboard.png"
    Image.new("RGB", (40, 20), (200, 30, 30)).save(shot)
    log = tmp_path / "scan.log"
    log.write_text("INFO: ANALYSIS SUCCESSFUL\n")
    r = run_cli(*design_args(stub.url), f"--inline={shot}", f"--attach={log}", env=env_for(smtp))
    assert r.returncode == 0, r.stderr
    msg = smtp.messages[0].message
    images = [p for p in msg.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 1 and images[0].get_content_disposition() == "inline"
    cid = images[0]["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in smtp.messages[0].html
    assert images[0].get_content() == shot.read_bytes()
    attached = [p for p in msg.walk() if p.get_filename() == "scan.log"]
    assert len(attached) == 1 and attached[0].get_content_disposition() == "attachment"
    assert "Attached: scan.log" in smtp.messages[0].text


def test_inline_must_be_an_image(sonar, smtp_server, tmp_path):
    stub = sonar("10.7")
    smtp = smtp_server()
    notes = tmp_path / "notes.txt"
    notes.write_text("x")
    r = run_cli(*design_args(stub.url), f"--inline={notes}", env=env_for(smtp))
    assert r.returncode == 2 and "is not a PNG, JPEG, GIF or WebP image" in r.stderr and stub.state.calls() == 0


def test_template_override(sonar, smtp_server, tmp_path):
    stub = sonar("10.7")
    smtp = smtp_server()
    (tmp_path / "sonar.txt.j2").write_text("{{ r.project_name }} is {{ verdict }}; see {{ r.dashboard_url }}\n")
    r = run_cli(*design_args(stub.url), env=env_for(smtp, SENDMAIL_TEMPLATE_DIR=str(tmp_path)))
    assert r.returncode == 0, r.stderr
    assert smtp.messages[0].text.strip() == f"My Project is FAILED; see {EXTERNAL}/dashboard?id=my_project"
    assert "Coverage on new code" in smtp.messages[0].html  # the built-in HTML stays


def test_broken_template_is_a_clear_error(sonar, smtp_server, tmp_path):
    stub = sonar("10.7")
    smtp = smtp_server()
    (tmp_path / "sonar.html.j2").write_text("<p>{{ r.project_name </p>\n")
    r = run_cli(*design_args(stub.url), f"--template-dir={tmp_path}", env=env_for(smtp))
    assert r.returncode == 1
    assert f"template {tmp_path}/sonar.html.j2 has a syntax error on line 1" in r.stderr
    assert smtp.messages == []


def test_preview_writes_files_without_smtp(sonar, tmp_path):
    stub = sonar("10.7")
    env = mail_env(EMAIL_FROM="sonar@example.com", SONAR_TOKEN=TOKEN)
    r = run_cli(*design_args(stub.url), f"--preview={tmp_path / 'out'}", env=env)
    assert r.returncode == 0, r.stderr
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"mail.html", "mail.txt", "mail.eml"}
    import email
    from email import policy
    eml = email.message_from_bytes((tmp_path / "out/mail.eml").read_bytes(), policy=policy.default)
    assert eml["Subject"].startswith("[SonarQube] FAILED")


def test_missing_settings_reported_together():
    r = run_cli("send-mail", "sonar", "--email-to=", "--email-cc=", "--sonar-project-id=", "--sonar-internal-url=",
                "--sonar-external-url=", env=mail_env())
    assert r.returncode == 1
    for name in ("EMAIL_TO_LIST", "PROJECT_NAME", "SONAR_INTERNAL_ADDR", "SONAR_EXTERNAL_ADDR", "SMTP_HOST",
                 "EMAIL_FROM"):
        assert f"{name} is not set" in r.stderr
    assert "EMAIL_CC_LIST" not in r.stderr


def test_help_version_and_show_config():
    for args in (("--help",), ("sonar", "--help"), ("pipeline", "--help"), ("text", "--help")):
        assert run_cli("send-mail", *args).returncode == 0
    assert "send-mail, version" in run_cli("send-mail", "--version").stdout
    r = run_cli("send-mail", "--show-config", env=mail_env(SMTP_PASSWORD=SMTP_PASSWORD, SMTP_HOST="relay"))
    assert r.returncode == 0 and "SMTP_PASSWORD" in r.stdout and SMTP_PASSWORD not in r.stdout


def test_fifty_thousand_issues_cost_the_same_calls(sonar, tmp_path):
    """The scale goal, in-process: calls are counted in the stub, not timed."""
    from pipeyard_kit.sonarqube.client import SonarClient
    from pipeyard_sendmail.report import collect
    calls = {}
    for total in (10, 10_000, 50_000):
        stub = sonar("2025.1", issues_total=total, issues_new=min(total, 20_000))
        report = collect(SonarClient(stub.url, token=TOKEN), "my_project", EXTERNAL, 10)
        calls[total] = stub.state.calls()
        assert report.issues_total == total and len(report.top_issues) == 10
        assert sum(r.overall for r in report.count_tables[0].rows) == total
        issue_calls = [p for path, p in stub.state.requests if path == "api/issues/search"]
        assert all(int(p["ps"]) <= 500 and p.get("p", "1") == "1" for p in issue_calls)
    assert set(calls.values()) <= {9, 10}, calls  # bounded whatever the number of issues


def impact_rank(level: str) -> int:
    return ["BLOCKER", "HIGH", "MEDIUM", "LOW", "INFO"].index(level)


def test_mqr_mode_ranks_the_top_issues_by_impact_severity(sonar):
    from pipeyard_kit.sonarqube.client import SonarClient
    from pipeyard_sendmail.report import collect
    stub = sonar("2025.1", mode="MQR", issues_new=40)
    report = collect(SonarClient(stub.url, token=TOKEN), "my_project", EXTERNAL, 8)
    levels = [f.level for f in report.top_issues]
    assert len(levels) == 8 and levels == sorted(levels, key=impact_rank)
    # The true top 8 by impact, from the server's own data, one by one.
    impacts = sorted((impact_rank(stub_impact(stub, i)), i) for i in range(40))
    assert [impact_rank(x) for x in levels] == [rank for rank, _ in impacts[:8]]


def stub_impact(stub, i: int) -> str:
    return stub.issue_tuple(i)[2]


def test_the_old_legacy_severity_sort_misses_the_worst_impacts(sonar):
    """What the report asked for before: the top N by legacy severity (s=SEVERITY), shown with their
    impact severity. Against a server whose impacts differ from the legacy severities (as real ones do),
    that list misses issues of a higher impact than some it shows."""
    import requests

    stub = sonar("2025.1", mode="MQR", issues_new=40)
    old = requests.get(f"{stub.url}/api/issues/search", auth=(TOKEN, ""), timeout=5, params={
        "components": "my_project", "issueStatuses": "OPEN,CONFIRMED", "inNewCodePeriod": "true", "ps": 8,
        "s": "SEVERITY", "asc": "false"}).json()
    shown = sorted(impact_rank(min((i["severity"] for i in issue["impacts"]), key=impact_rank))
                   for issue in old["issues"])
    true_top = sorted(impact_rank(stub_impact(stub, i)) for i in range(40))[:8]
    assert shown != true_top and max(shown) > max(true_top)


def test_standard_mode_on_a_recent_server_keeps_types_and_legacy_severities(sonar):
    from pipeyard_kit.sonarqube.client import SonarClient
    from pipeyard_sendmail.report import collect
    stub = sonar("2025.1", mode="STANDARD")
    report = collect(SonarClient(stub.url, token=TOKEN), "my_project", EXTERNAL, 5)
    assert not report.mqr and report.count_tables[0].title == "By type"
    assert {f.level for f in report.top_issues} <= {"BLOCKER", "CRITICAL", "MAJOR", "MINOR", "INFO"}
    assert stub.state.calls("api/settings/values") == 1


def test_hotspots_are_still_reported_where_deprecated(sonar):
    from pipeyard_kit.sonarqube.client import SonarClient
    from pipeyard_sendmail.report import collect
    stub = sonar("2026.4")
    report = collect(SonarClient(stub.url, token=TOKEN), "my_project", EXTERNAL, 5)
    assert stub.state.calls("api/hotspots/search") == 1 and report.hotspots_new == 3
    assert len(report.top_hotspots) == 3


def test_send_retries_temporary_failures(smtp_server):
    from sendmail_support import Handler

    from pipeyard_kit.errors import RemoteError
    from pipeyard_sendmail import smtp as smtp_mod
    server = smtp_server(handler=Handler(data_replies=["451 4.3.0 Mailbox busy", "421 4.7.0 Try again later"]))
    mail = smtp_mod.Mail(sender="ci@example.com", to=["dev@example.com"], subject="s", html="<p>h</p>", text="t")
    cfg = smtp_mod.SmtpConfig(host="127.0.0.1", port=server.port, retries=3)
    slept: list[float] = []
    assert smtp_mod.send(mail, cfg, backoff=1, sleep=slept.append) == 3
    assert len(server.messages) == 1 and slept == [1, 2]

    server = smtp_server(handler=Handler(data_replies=["451 4.3.0 Mailbox busy"] * 5))
    cfg = smtp_mod.SmtpConfig(host="127.0.0.1", port=server.port, retries=2)
    with pytest.raises(RemoteError, match=rf"127.0.0.1:{server.port} after 3 attempts \(451 4.3.0 Mailbox busy\)"):
        smtp_mod.send(mail, cfg, backoff=0, sleep=lambda s: None)
    assert server.messages == []


def test_partially_refused_recipients_are_reported(smtp_server):
    from sendmail_support import Handler

    from pipeyard_kit.errors import RemoteError
    from pipeyard_sendmail import smtp as smtp_mod
    server = smtp_server(handler=Handler(refuse={"gone@example.com": "550 5.1.1 User unknown"}))
    mail = smtp_mod.Mail(sender="ci@example.com", to=["dev@example.com", "gone@example.com"], subject="s",
                         html="<p>h</p>", text="t")
    with pytest.raises(RemoteError, match=r"delivered the mail but refused gone@example.com \(550 5.1.1 User unknown\)"):
        smtp_mod.send(mail, smtp_mod.SmtpConfig(host="127.0.0.1", port=server.port), sleep=lambda s: None)
    assert len(server.messages) == 1


def test_message_ids_are_unique():
    from pipeyard_sendmail import smtp as smtp_mod
    mail = smtp_mod.Mail(sender="ci@example.com", to=["dev@example.com"], subject="same", html="<p>h</p>", text="t")
    assert smtp_mod.build_message(mail)["Message-ID"] != smtp_mod.build_message(mail)["Message-ID"]


def test_templates_exist_for_every_kind():
    folder = Path(__import__("pipeyard_sendmail", fromlist=["x"]).__file__).parent / "templates"
    for kind in ("sonar", "pipeline", "text"):
        assert (folder / f"{kind}.html.j2").is_file() and (folder / f"{kind}.txt.j2").is_file()
