#!/bin/sh
# Smoke checks for the sonar image, run inside it as its own user (tests/images mounts this folder
# read-only). The tools must work when a job script calls them directly, and the main command path
# runs for real: sonar-scan asks the server its version (static answers served on loopback), picks
# the scanner and runs the real pysonar, in its own dry-run mode, with the arguments sonar-scan
# builds, on the image's Python; for an old server it picks the SonarScanner CLI.
set -eu

java -version 2>&1 | grep -q 'version "21'
mvn -v > /dev/null
sonar-scan --help > /dev/null
pysonar --help > /dev/null

work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/sonar/api/server" "$work/app/src"
printf '10.7.0.96327' > "$work/sonar/api/server/version"
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
url="http://127.0.0.1:$(cat "$work/port")"

cd "$work/app"
printf '{"name": "smoke", "version": "1.0.0"}\n' > package.json
echo 'module.exports = 1;' > src/index.js
# pysonar's own dry run parses every argument sonar-scan passes (flags included) and validates them.
SONAR_HOST_URL=$url SONAR_TOKEN=smoke-token CI_PROJECT_PATH=smoke/app \
  SONAR_SCANNER_OPTS=-Dsonar.scanner.dryRun=true sonar-scan --no-wait > "$work/scan.log" 2>&1 \
  || { cat "$work/scan.log" >&2; exit 1; }
grep -q 'scanner: pysonar' "$work/scan.log"
grep -q 'Configuration validation PASSED' "$work/scan.log"

# An old server: the SonarScanner CLI from the mirror, shown without downloading it.
printf '9.9.8.100196' > "$work/sonar/api/server/version"
SONAR_HOST_URL=$url SONAR_TOKEN=smoke-token CI_PROJECT_PATH=smoke/app SONAR_SCANNER_MIRROR_URL=https://mirror.example \
  sonar-scan --dry-run 2> "$work/dry.log" | grep -q '/bin/sonar-scanner -Dsonar'
grep -q 'scanner: cli' "$work/dry.log"

cd /
echo "sonar smoke: ok"
