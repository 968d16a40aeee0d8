"""send-mail sonar at scale, and what the mail looks like.

For projects with 10, 10,000 and 50,000 issues (a local SonarQube stub that
follows the Web API and counts calls): the API calls the report makes and the
time it takes with the network excluded (collect + render + MIME, minus the
time spent waiting on HTTP). Baseline, in the same run: paging through every
issue at ps=500 as sonar-report does, which also stops at SonarQube's 10,000
result cap. Goal: constant calls, under 1 s.

Then headless Chromium saves PNG screenshots of the rendered mails under
bench/out/ for a person to look at (desktop and phone widths).
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _report import Report

from pipeyard_kit.sonarqube.client import SonarClient
from pipeyard_sendmail import smtp
from pipeyard_sendmail.pipeline import PipelineReport, _job
from pipeyard_sendmail.render import render
from pipeyard_sendmail.report import collect
from tests.servers.sonarqube import TOKEN, VERSIONS, SonarState, SonarStub

OUT = ROOT / "bench" / "out"
EXTERNAL = "https://sonar.example.com"
NOW = datetime(2025, 6, 12, 9, 0, tzinfo=UTC)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]


class TimedClient(SonarClient):
    """Adds up the time spent in HTTP round trips, so it can be taken out."""

    http_seconds = 0.0

    def _get_once(self, path, params):  # type: ignore[override]
        t0 = time.perf_counter()
        try:
            return super()._get_once(path, params)
        finally:
            self.http_seconds += time.perf_counter() - t0


def build_mail(stub: SonarStub) -> tuple[int, float, float, str]:
    """(API calls, seconds without HTTP, seconds total, html) for one report."""
    stub.state.requests.clear()
    client = TimedClient(stub.url, token=TOKEN)
    t0 = time.perf_counter()
    report = collect(client, "my_project", EXTERNAL, 10)
    rendered = render("sonar", {"r": report, "verdict": report.verdict, "subject": report.subject(),
                                "preheader": report.summary(), "now": NOW, "images": [], "attachments": [],
                                "ci": {"pipeline_url": "https://gitlab.example.com/acme/billing/-/pipelines/4711"}},
                      scrub=(stub.url, EXTERNAL))
    smtp.build_message(smtp.Mail(sender="Sonar reports <sonar@example.com>", to=["team@example.com"],
                                 subject=report.subject(), html=rendered.html, text=rendered.text)).as_string()
    total = time.perf_counter() - t0
    return stub.state.calls(), total - client.http_seconds, total, rendered.html


def page_everything(stub: SonarStub) -> tuple[int, float]:
    """The baseline: fetch every open issue 500 at a time, as sonar-report does."""
    stub.state.requests.clear()
    client = SonarClient(stub.url, token=TOKEN)
    t0 = time.perf_counter()
    page = 1
    while True:
        data = client.json("api/issues/search", {"components": "my_project", "issueStatuses": "OPEN,CONFIRMED",
                                                 "ps": 500, "p": page})
        total = data["paging"]["total"]
        if page * 500 >= min(total, 10_000):
            break
        page += 1
    return stub.state.calls(), time.perf_counter() - t0


def screenshots(pages: dict[str, str]) -> float:
    """Save each HTML page as a full-page PNG at desktop and phone width; returns seconds."""
    from playwright.sync_api import sync_playwright

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="pipeyard-chromium-") as profile, sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True,
                                                        args=CHROMIUM_ARGS, viewport={"width": 760, "height": 900})
        page = browser.new_page()
        for name, html in pages.items():
            (OUT / f"{name}.html").write_text(html, encoding="utf-8")
            for suffix, width in (("", 760), ("-phone", 390)):
                page.set_viewport_size({"width": width, "height": 900})
                page.goto((OUT / f"{name}.html").as_uri())
                page.screenshot(path=str(OUT / f"{name}{suffix}.png"), full_page=True)
        browser.close()
    return time.perf_counter() - t0


def pipeline_html() -> str:
    stages = ("build", "test", "quality", "report")
    jobs = [_job({"id": 5000 + i, "name": name, "stage": stages[s], "status": status, "duration": 30 + 17 * i,
                  "allow_failure": allow, "failure_reason": "script_failure" if status == "failed" else None,
                  "web_url": f"https://gitlab.example.com/acme/billing/-/jobs/{5000 + i}"})
            for i, (name, s, status, allow) in enumerate([
                ("maven-build", 0, "success", False), ("npm-build", 0, "success", False),
                ("maven-test", 1, "failed", False), ("npm-test", 1, "success", False),
                ("e2e-screenshots", 1, "failed", True), ("sonar-scan", 2, "success", False),
                ("sendmail-sonar", 3, "skipped", False)])]
    report = PipelineReport(project_path="acme/billing", project_url="https://gitlab.example.com/acme/billing",
                            pipeline_id=4711, status="failed", ref="main", sha="a91957a8",
                            url="https://gitlab.example.com/acme/billing/-/pipelines/4711", source="schedule",
                            user="Release Bot", created_at=NOW, duration=754,
                            commit_title="Invoice totals: round half-even as finance asked", jobs=jobs)
    return render("pipeline", {"p": report, "verdict": report.verdict, "subject": report.subject(),
                               "preheader": report.summary(), "now": NOW, "images": [], "attachments": [],
                               "ci": {}}).html


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    table = Report("send-mail sonar: API calls and report time by project size (SonarQube 2025.1 stub)")
    sample_html = ""
    cold = 0.0
    for total in (10, 10_000, 50_000):
        with SonarStub(SonarState(version=VERSIONS["2025.1"], issues_total=total, issues_new=min(total, 37))) as stub:
            runs = [build_mail(stub) for _ in range(4)]
            if total == 10:
                cold = runs.pop(0)[1]  # the first one compiles the templates, as every CLI run does
            else:
                runs.pop(0)
            calls = runs[0][0]
            local = sorted(r[1] for r in runs)[1]
            wall = sorted(r[2] for r in runs)[1]
            base_calls, base_time = page_everything(stub)
            if total == 10_000:
                sample_html = runs[0][3]
        table.add(f"{total:>6} issues: API calls", calls, "calls", baseline=base_calls,
                  goal="constant (baseline: page every issue)")
        table.add(f"{total:>6} issues: report, network excluded", local, goal="< 1 s")
        table.add(f"{total:>6} issues: report, with local HTTP", wall, baseline=base_time,
                  goal="baseline: paging every issue over the same HTTP")
    table.add("first report of a process (templates compiled)", cold, goal="< 1 s")
    table.add("HTML of the 10,000-issue mail", len(sample_html.encode()) // 1024, "KiB",
              goal="< 102 KiB (Gmail clips longer mails)")
    shot_time = screenshots({"sonar-mail": sample_html, "pipeline-mail": pipeline_html()})
    table.add("screenshots (4 PNGs, headless Chromium)", shot_time)
    table.print()
    print(f"\nscreenshots: {', '.join(sorted(p.name for p in OUT.glob('*.png')))} in {OUT}")


if __name__ == "__main__":
    main()
