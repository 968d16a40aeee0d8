#!/bin/sh
# Smoke checks for the sendmail image, run inside it as its own user (tests/images mounts this
# folder read-only). The tools must work when a job script calls them directly, and the main
# command path runs for real: send-mail sonar reads a SonarQube (static answers served on
# loopback) and renders the mail; send-mail text renders a notice. --preview writes the mail
# instead of sending it, so no SMTP relay is needed.
set -eu

send-mail --help > /dev/null

# pipeyard's Python sees both Debian's libraries and the extras' pinned packages.
/opt/pipeyard/bin/python3 - <<'PY'
import gitlab, jinja2, premailer, requests, rich, yagmail  # noqa: F401
print("imports ok")
PY

work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
api="$work/sonar/api"
mkdir -p "$api/server" "$api/components" "$api/qualitygates" "$api/measures" "$api/issues" "$api/hotspots"
printf '10.7.0.96327' > "$api/server/version"
cat > "$api/components/show" <<'JSON'
{"component": {"key": "smoke", "name": "Smoke app", "qualifier": "TRK", "analysisDate": "2025-06-09T10:34:25+0200", "version": "1.0.0"}}
JSON
cat > "$api/qualitygates/project_status" <<'JSON'
{"projectStatus": {"status": "ERROR", "conditions": [{"status": "ERROR", "metricKey": "new_coverage", "comparator": "LT", "errorThreshold": "80", "actualValue": "64.0"}]}}
JSON
cat > "$api/measures/component" <<'JSON'
{"component": {"key": "smoke", "measures": [{"metric": "ncloc", "value": "1200"}, {"metric": "coverage", "value": "71.4"}, {"metric": "new_coverage", "period": {"index": 1, "value": "64.0"}}]}}
JSON
cat > "$api/issues/search" <<'JSON'
{"paging": {"pageIndex": 1, "pageSize": 10, "total": 1},
 "issues": [{"key": "AY-1", "rule": "java:S1481", "severity": "MAJOR", "type": "BUG", "component": "smoke:src/main/A.java", "line": 3, "message": "Remove <unused> variable"}],
 "components": [{"key": "smoke:src/main/A.java", "path": "src/main/A.java"}],
 "facets": [{"property": "severities", "values": [{"val": "MAJOR", "count": 1}]}, {"property": "types", "values": [{"val": "BUG", "count": 1}]}]}
JSON
printf '{"paging": {"pageIndex": 1, "pageSize": 10, "total": 0}, "hotspots": [], "components": []}' > "$api/hotspots/search"
cat > "$work/serve.py" <<'PY'
import functools, http.server, sys
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass
server = http.server.HTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=sys.argv[1]))
open(sys.argv[2], "w").write(str(server.server_address[1]))
server.serve_forever()
PY
python3 "$work/serve.py" "$work/sonar" "$work/port" &
server=$!
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -s "$work/port" ] && break; sleep 0.2; done

EMAIL_FROM=ci@example.com SONAR_TOKEN=smoke-token send-mail sonar --email-to=team@example.com \
  --sonar-project-id=smoke --sonar-internal-url="http://127.0.0.1:$(cat "$work/port")" \
  --sonar-external-url=https://sonar.example.com --preview="$work/sonar-mail" 2> "$work/sonar.log" \
  || { cat "$work/sonar.log" >&2; exit 1; }
grep -q 'FAILED' "$work/sonar-mail/mail.html"
grep -q 'Remove &lt;unused&gt; variable' "$work/sonar-mail/mail.html"
grep -q 'https://sonar.example.com/dashboard?id=smoke' "$work/sonar-mail/mail.txt"
grep -q '^Subject: =?utf-8?q?=5BSonarQube=5D_FAILED' "$work/sonar-mail/mail.eml"

EMAIL_FROM=ci@example.com send-mail text --email-to=team@example.com --subject="Release 1.0.0" \
  --body="Deployed." --preview="$work/text-mail" 2> /dev/null
grep -q 'Deployed.' "$work/text-mail/mail.txt"

echo "sendmail smoke: ok"
