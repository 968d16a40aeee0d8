"""`send-mail pipeline` against the GitLab stand-in (tests/servers/gitlab_api), and `send-mail text`."""

from __future__ import annotations

import re

from sendmail_support import GITLAB_TOKEN, mail_env, make_bridge, make_jobs

from tests.fixtures import run_cli


def pipeline_env(smtp, gl, **extra: str) -> dict[str, str]:
    return mail_env(**{**smtp.env(), "EMAIL_FROM": "ci@example.com", "EMAIL_TO_LIST": "team@example.com",
                       "CI_SERVER_URL": gl.url, "CI_PROJECT_ID": "42", "CI_PIPELINE_ID": "1001", **extra})


def test_failed_pipeline_mail(gitlab_stub, smtp_server):
    jobs = make_jobs(130, failed=(3, 7), allowed=(7,), running=(129,))
    gl = gitlab_stub(jobs=jobs)
    smtp = smtp_server()
    # The mail job itself (CI_JOB_ID) is still running and is left out of the verdict.
    r = run_cli("send-mail", "pipeline", env=pipeline_env(smtp, gl, GITLAB_TOKEN=GITLAB_TOKEN, CI_JOB_ID="5129"))
    assert r.returncode == 0, r.stderr
    mail = smtp.messages[0]
    assert mail.message["Subject"] == "[CI] FAILED · acme/billing · pipeline #1001 on main · 1 job failed"
    html, text = mail.html, mail.text
    assert "job-3" in html and "script failure" in html
    assert "https://gitlab.example.com/acme/billing/-/jobs/5003" in html
    assert "(allowed to fail)" in html
    assert "job-129" not in html
    assert "FAILED JOBS" in text and "- job-3 (stage build, script failure)" in text
    assert "Release Bot" in html and "a91957a8" in html
    # The single-pipeline answer has no commit: the title came from the commit itself.
    assert "Fix the invoice rounding" in html and "Commit: Fix the invoice rounding" in mail.text
    # Jobs came in two pages of 100, following GitLab's Link header.
    assert gl.paths().count("/api/v4/projects/42/pipelines/1001/jobs") == 2
    assert GITLAB_TOKEN not in r.stderr + mail.decoded()


def test_running_pipeline_with_only_this_job_left_passes(gitlab_stub, smtp_server):
    gl = gitlab_stub(status="running", jobs=make_jobs(4, failed=(), running=(3,)))
    smtp = smtp_server()
    r = run_cli("send-mail", "pipeline", "--only-on-failure",
                env=pipeline_env(smtp, gl, GITLAB_TOKEN=GITLAB_TOKEN, CI_JOB_ID="5003"))
    assert r.returncode == 0, r.stderr
    assert smtp.messages == [] and "pipeline 1001 is passed: no mail" in r.stderr


def test_a_failed_trigger_job_fails_the_mail(gitlab_stub, smtp_server):
    """Trigger jobs are listed by /bridges, never by /jobs."""
    gl = gitlab_stub(jobs=make_jobs(4, failed=()), bridges=[make_bridge()])
    smtp = smtp_server()
    r = run_cli("send-mail", "pipeline", env=pipeline_env(smtp, gl, GITLAB_TOKEN=GITLAB_TOKEN))
    assert r.returncode == 0, r.stderr
    mail = smtp.messages[0]
    assert mail.message["Subject"] == "[CI] FAILED · acme/billing · pipeline #1001 on main · 1 job failed"
    assert "deploy-downstream" in mail.html and "downstream pipeline failed" in mail.html
    assert "https://gitlab.example.com/acme/deploy/-/pipelines/2002" in mail.html
    assert "- deploy-downstream (stage report, downstream pipeline creation failed, trigger job" in mail.text
    assert "/api/v4/projects/42/pipelines/1001/bridges" in gl.paths()


def test_a_job_token_alone_cannot_read_a_private_projects_pipeline(gitlab_stub, smtp_server):
    gl = gitlab_stub(jobs=make_jobs(3))
    smtp = smtp_server()
    r = run_cli("send-mail", "pipeline", env=pipeline_env(smtp, gl, CI_JOB_TOKEN=gl.job_token()))
    assert r.returncode == 1 and r.stderr.count("error:") == 1 and "Traceback" not in r.stderr
    assert "would not show pipeline 1001 of project 42 without a token (CI_JOB_TOKEN cannot read pipelines" in r.stderr
    assert "set GITLAB_TOKEN (or GITLAB_TOKEN_FILE) to a token with read_api scope" in r.stderr
    assert smtp.messages == []
    # GitLab answered the project read as it answers an anonymous caller: 404.
    assert [(x.path, x.identity, x.status) for x in gl.gl.requests][:1] == [("/projects/42", "anonymous", 404)]


def test_the_old_job_token_fallback_is_refused_as_gitlab_refuses_it(gitlab_stub):
    """What the mail did before: python-gitlab with the job token on GET /projects/:id. GitLab does not
    look at a job token there, so the caller is anonymous and a private project is 404."""
    import gitlab
    import pytest

    gl = gitlab_stub(jobs=make_jobs(3))
    client = gitlab.Gitlab(gl.url, job_token=gl.job_token(), retry_transient_errors=False)
    with pytest.raises(gitlab.exceptions.GitlabGetError) as err:
        client.projects.get(42)
    assert err.value.response_code == 404
    # The same token IS good for the commit, one of the endpoints GitLab lets job tokens call.
    commit = client.projects.get(42, lazy=True).commits.get("a91957a858320c0e17f3a0eca7cfacbff50ea29a")
    assert commit.title == "Fix the invoice rounding"


def test_a_public_project_is_read_anonymously_and_the_job_title_is_used(gitlab_stub, smtp_server):
    gl = gitlab_stub(jobs=make_jobs(3, failed=()), status="success", public=True)
    smtp = smtp_server()
    env = pipeline_env(smtp, gl, CI_JOB_TOKEN=gl.job_token(), CI_COMMIT_TITLE="Title from the job",
                       CI_COMMIT_SHA="a91957a858320c0e17f3a0eca7cfacbff50ea29a")
    r = run_cli("send-mail", "pipeline", env=env)
    assert r.returncode == 0, r.stderr
    assert "Title from the job" in smtp.messages[0].html
    assert not any(p.endswith("/repository/commits/a91957a858320c0e17f3a0eca7cfacbff50ea29a") for p in gl.paths())
    assert {x.identity for x in gl.gl.requests} == {"anonymous"}


def test_flags_and_wrong_token(gitlab_stub, smtp_server):
    gl = gitlab_stub(jobs=make_jobs(3))
    smtp = smtp_server()
    env = pipeline_env(smtp, gl, GITLAB_TOKEN="glpat-wrong", CI_SERVER_URL="", CI_PROJECT_ID="", CI_PIPELINE_ID="")
    env.pop("CI_JOB_TOKEN", None)
    r = run_cli("send-mail", "pipeline", f"--gitlab-url={gl.url}", "--project-id=acme/billing", "--pipeline-id=1001",
                env=env)
    assert r.returncode == 1
    assert f"GitLab at {gl.url} (--gitlab-url) rejected the token (401)" in r.stderr and "GITLAB_TOKEN" in r.stderr
    assert "glpat-wrong" not in r.stderr and smtp.messages == []


def test_missing_pipeline_coordinates(smtp_server):
    smtp = smtp_server()
    r = run_cli("send-mail", "pipeline", env=mail_env(**smtp.env(), EMAIL_FROM="ci@example.com",
                                                       EMAIL_TO_LIST="t@example.com"))
    assert r.returncode == 1
    assert "--gitlab-url" in r.stderr and "--pipeline-id" in r.stderr and "GITLAB_TOKEN is not set" in r.stderr


def test_text_notice_escapes_and_keeps_paragraphs(smtp_server, tmp_path):
    smtp = smtp_server()
    env = mail_env(**smtp.env(), EMAIL_FROM="ci@example.com", CI_PIPELINE_URL="https://gitlab.example.com/p/-/pipelines/9")
    body = "Release 2.3.1 is live.\nRollout: 100%\n\nNote: <b>no</b> downtime."
    r = run_cli("send-mail", "text", "--email-to=ops@example.com, dev@example.com", "--subject=Release 2.3.1 deployed",
                "--link=https://apps.example.com/billing", "--link-text=Open billing", env=env, input=body)
    assert r.returncode == 0, r.stderr
    mail = smtp.messages[0]
    assert sorted(mail.rcpt_tos) == ["dev@example.com", "ops@example.com"]
    assert mail.message["Subject"] == "Release 2.3.1 deployed"
    html = mail.html
    assert "Release 2.3.1 is live.<br>Rollout: 100%" in html
    assert "&lt;b&gt;no&lt;/b&gt;" in html and "<b>no</b>" not in html
    assert re.search(r'href="https://apps.example.com/billing"[^>]*>Open billing', html)
    assert mail.text.startswith(body)


def test_text_needs_a_body(smtp_server):
    smtp = smtp_server()
    r = run_cli("send-mail", "text", "--subject=x", "--email-to=a@example.com",
                env=mail_env(**smtp.env(), EMAIL_FROM="ci@example.com"), input="")
    assert r.returncode == 2
    assert "error: the message is empty" in r.stderr
