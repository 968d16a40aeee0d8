#!/bin/sh
# Smoke checks for the gitops image, run inside it as its own user (tests/images mounts this
# folder read-only). The tools must work when a job script calls them directly, and the main
# command path runs for real: gitops-bump clones a config repository over smart HTTP (git
# http-backend behind a few lines of Python on loopback), pins a digest and pushes.
set -eu

git --version | grep -q '^git version 2\.'
gitops-bump --help > /dev/null

work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
digest="sha256:$(printf '%064d' 5)"

# The config repository, as `pipeyard chart init` lays one out.
git init -q --bare -b main "$work/srv/config.git"
git -C "$work/srv/config.git" config http.receivepack true
git init -q -b main "$work/seed"
mkdir -p "$work/seed/apps/orders"
# values.yaml names the repository: gitops-bump refuses to pin a digest it cannot check against it.
printf 'image:\n  repository: harbor.example.com/shop/orders\n' > "$work/seed/apps/orders/values.yaml"
printf 'image:\n  tag: "latest"\n  digest: ""\n' > "$work/seed/apps/orders/values-dev.yaml"
git -C "$work/seed" add -A
git -C "$work/seed" -c user.name=smoke -c user.email=smoke@example.com commit -q -m seed
git -C "$work/seed" push -q "$work/srv/config.git" main

# Smart HTTP: every request handed to git http-backend as CGI.
cat > "$work/serve.py" <<'PY'
import http.server, os, subprocess, sys
root, port_file = sys.argv[1], sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_any(self):
        path, _, query = self.path.partition("?")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        env = {"GIT_PROJECT_ROOT": root, "GIT_HTTP_EXPORT_ALL": "1", "PATH_INFO": path, "QUERY_STRING": query,
               "REQUEST_METHOD": self.command, "CONTENT_TYPE": self.headers.get("Content-Type", ""),
               "CONTENT_LENGTH": str(len(body)), "REMOTE_USER": "smoke", "PATH": os.environ["PATH"]}
        out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True).stdout
        head, _, data = out.partition(b"\r\n\r\n")
        status = 200
        headers = []
        for line in head.decode().split("\r\n"):
            name, _, value = line.partition(": ")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name, value))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    do_GET = do_POST = do_any
server = http.server.HTTPServer(("127.0.0.1", 0), H)
open(port_file, "w").write(str(server.server_address[1]))
server.serve_forever()
PY
python3 "$work/serve.py" "$work/srv" "$work/port" &
server=$!
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -s "$work/port" ] && break; sleep 0.2; done

cd "$work"
GITOPS_REPO_URL="http://127.0.0.1:$(cat "$work/port")/config.git" GITOPS_TOKEN=smoke-token \
  GITOPS_ENVIRONMENT=dev GITOPS_APP=orders GITOPS_IMAGE="harbor.example.com/shop/orders:1.4.2@$digest" \
  gitops-bump > "$work/bump.log" 2>&1 || { cat "$work/bump.log" >&2; exit 1; }
git -C "$work/srv/config.git" show main:apps/orders/values-dev.yaml | grep -q "$digest"
git -C "$work/srv/config.git" show main:apps/orders/values-dev.yaml | grep -q '1.4.2'

cd /
echo "gitops smoke: ok"
