#!/bin/sh
# Smoke checks for the b2i-builder image, run inside it as its own user (tests/images mounts this
# folder read-only). The tools must work when a job script calls them directly, and the main command
# path runs for real: a jar becomes an image in a registry (a few lines of Python speaking the
# distribution API's push endpoints on loopback, docs/spec/api.md), and the dotenv report names it.
set -eu

b2i-build --help > /dev/null
b2i-build --version | grep -q 'b2i-build'
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
py=/opt/pipeyard/bin/python3

# Nothing configured: one line naming what to set, no traceback.
if env B2I_APP_REGISTRY='' B2I_BASE_IMAGE='' CI_PROJECT_NAME=orders b2i-build > out.log 2> err.log; then
  echo "b2i-build succeeded with nothing to build" >&2
  exit 1
fi
grep -q "B2I_JAR='target/\*.jar' matches no jar" err.log
if grep -q Traceback err.log; then cat err.log >&2; exit 1; fi

cat > registry.py <<'PY'
import hashlib, http.server, re, sys, uuid
from urllib.parse import parse_qsl
blobs, repos, manifests = {}, {}, {}
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def send(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers: self.send_header(k, v)
        self.send_header("Content-Length", str(len(body))); self.end_headers()
        if self.command != "HEAD": self.wfile.write(body)
    def body(self): return self.rfile.read(int(self.headers.get("Content-Length") or 0))
    def route(self):
        path, _, query = self.path.partition("?")
        q = dict(parse_qsl(query))
        if path == "/v2/": return self.send(200)
        m = re.match(r"^/v2/(.+)/(blobs|manifests)/(uploads/?)?([^/]*)$", path)
        if not m: return self.send(404)
        repo, kind, upload, ref = m.groups()
        have = repos.setdefault(repo, set())
        if kind == "manifests":
            key = manifests.get((repo, ref)) if not ref.startswith("sha256:") else ref if (repo, ref) in manifests else None
            if self.command == "PUT":
                data = self.body(); digest = "sha256:" + hashlib.sha256(data).hexdigest()
                blobs[digest] = (data, self.headers["Content-Type"]); manifests[(repo, ref)] = digest
                manifests[(repo, digest)] = digest
                return self.send(201, headers=[("Docker-Content-Digest", digest)])
            if key is None: return self.send(404)
            data, media = blobs[key]
            return self.send(200, data, [("Docker-Content-Digest", key), ("Content-Type", media)])
        if upload and self.command == "POST":
            source = q.get("from")
            if "mount" in q and q["mount"] in repos.get(source, set()):
                have.add(q["mount"]); return self.send(201)
            return self.send(202, headers=[("Location", f"/v2/{repo}/blobs/uploads/{uuid.uuid4()}")])
        if upload and self.command == "PUT":
            data = self.body(); digest = q["digest"]
            if "sha256:" + hashlib.sha256(data).hexdigest() != digest: return self.send(400)
            blobs[digest] = (data, "application/octet-stream"); have.add(digest)
            return self.send(201, headers=[("Docker-Content-Digest", digest)])
        if ref in have: return self.send(200, blobs[ref][0], [("Docker-Content-Digest", ref)])
        return self.send(404)
    do_GET = do_HEAD = do_PUT = do_POST = route
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(server.server_address[1]))
server.serve_forever()
PY
"$py" registry.py "$work/port" &
server=$!
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -s "$work/port" ] && break; sleep 0.2; done
reg="127.0.0.1:$(cat "$work/port")"

# A stand-in base (one layer, the B2I base's user and command) and the jar the maven build left.
"$py" - "$reg" <<'PY'
import json, sys, zipfile, pathlib
from pipeyard_kit.ocibuild.cache import LayerCache
from pipeyard_kit.ocibuild.layer import Entry, LayerSpec, compress, write_layer
from pipeyard_kit.registry import OciImage, RegistryClient, push_image
from pipeyard_kit.registry.oci import OCI_CONFIG, Blob, sha256_digest
work = pathlib.Path.cwd()
(work / "os-release").write_text("stand-in base\n")
cache = LayerCache(work / "cache")
layer = write_layer(LayerSpec("base", (Entry("etc/os-release", work / "os-release"),)), cache, work)
blob = compress(layer, cache)
config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"User": "10001:10001"},
                     "rootfs": {"type": "layers", "diff_ids": [layer.diff_id]}}).encode()
image = OciImage.assemble(Blob(sha256_digest(config), len(config), OCI_CONFIG, data=config), [blob])
push_image(RegistryClient(sys.argv[1], scheme="http"), "pipeyard/b2i-java", image, ["21-trixie"])
(work / "target").mkdir()
with zipfile.ZipFile(work / "target" / "orders-1.0.jar", "w") as z:
    z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\nMain-Class: com.example.Main\r\n\r\n")
    z.writestr("com/example/Main.class", b"\xca\xfe\xba\xbe")
PY

export B2I_APP_REGISTRY="$reg/apps" B2I_BASE_IMAGE="$reg/pipeyard/b2i-java:21-trixie" CI_PROJECT_NAME=orders \
  CI_COMMIT_SHORT_SHA=c0ffee12 CI_COMMIT_TIMESTAMP=2024-06-01T12:00:00+00:00
b2i-build > out.log 2> err.log || { cat err.log >&2; exit 1; }
grep -q "^$reg/apps/b2i/orders:c0ffee12@sha256:[0-9a-f]\{64\}$" out.log
grep -q '^B2I_DIGEST=sha256:' b2i.env
grep -q 'base layers (1): 1 mounted from pipeyard/b2i-java' err.log
b2i-build > again.log 2> err.log || { cat err.log >&2; exit 1; }
cmp -s out.log again.log
grep -q 'nothing changed: 0 blobs uploaded' err.log

cd /
echo "b2i smoke: ok"
