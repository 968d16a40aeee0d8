"""The B2I base and app images for real: the base built with the stand-in agents from the local mirror,
the apps built on it with no engine (the daemonless path the pipeline job takes), pulled and run with podman."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest

from tests.fixtures import free_port

from .conftest import b2i, build_app, pinned, podman, pull
from .standins import wait_http

pytestmark = pytest.mark.images
COLLECTOR = {"SW_AGENT_COLLECTOR_BACKEND_SERVICES": "oap.example.com:11800"}


def markers(c, agent: str) -> dict[str, str]:
    """The stand-in agent's marker files in the container: pid -> contents."""
    out = c.exec("sh", "-c", f"cd /tmp/b2i-standin/{agent} 2>/dev/null && for f in *.txt; do "
                             "echo \"== $f\"; cat \"$f\"; done", check=False).stdout
    files: dict[str, str] = {}
    for chunk in out.split("== ")[1:]:
        name, _, body = chunk.partition("\n")
        files[name.removesuffix(".txt")] = body
    return files


def start_hello(run_app, image: str, **env: str):
    port, metrics = free_port(), free_port()
    c = run_app(image, env={"PORT": str(port), "B2I_APP_PORT": str(port), "B2I_METRICS_PORT": str(metrics), **env})
    body = wait_http(f"http://127.0.0.1:{port}/")
    return c, port, metrics, body


def test_tracing_on_loads_skywalking_with_its_arguments(run_app, apps) -> None:
    c, _, _, body = start_hello(run_app, apps["hello-traced"], **COLLECTOR)
    assert body.startswith("hello hello-traced build=v1")
    [(pid, marker)] = markers(c, "skywalking").items()
    assert "command=/app/app.jar" in marker
    assert "prop.skywalking.agent.service_name=hello-traced" in marker
    assert "prop.skywalking.collector.backend_service=oap.example.com:11800" in marker
    assert "env.SW_AGENT_NAME=hello-traced" in marker  # defaults to the app's name


def test_tracing_off_never_loads_skywalking(run_app, apps) -> None:
    c, _, _, _ = start_hello(run_app, apps["hello-plain"])
    assert markers(c, "skywalking") == {}
    assert len(markers(c, "jmx")) == 1


def test_the_metrics_agent_answers_on_its_port(run_app, apps) -> None:
    c, _, metrics, _ = start_hello(run_app, apps["hello-plain"])
    text = wait_http(f"http://127.0.0.1:{metrics}/metrics")
    assert 'jmx_config_file{path="/opt/b2i/jmx/config.yaml"} 1' in text
    assert re.search(r'jvm_memory_max_bytes\{area="heap"\} \d+', text)


def test_jps_jcmd_and_arthas_do_not_load_the_agents(run_app, apps) -> None:
    c, _, _, _ = start_hello(run_app, apps["hello-traced"], **COLLECTOR)
    before = (markers(c, "skywalking"), markers(c, "jmx"))
    jps = c.exec("jps", "-l").stdout
    app_pid = next(line.split()[0] for line in jps.splitlines() if line.endswith("/app/app.jar"))
    assert "Picked up" not in jps
    jcmd = c.exec("jcmd", app_pid, "VM.command_line").stdout
    assert "-javaagent:/opt/b2i/agents/skywalking/skywalking-agent.jar" in jcmd  # the app has them...
    assert c.exec("printenv", "JAVA_TOOL_OPTIONS", check=False).stdout == ""  # ...nobody else gets them
    arthas = c.exec("arthas").stdout
    assert arthas.strip() == f"attached to {app_pid} running /app/app.jar as app"
    assert (markers(c, "skywalking"), markers(c, "jmx")) == before
    assert list(before[0]) == [app_pid]


def test_arthas_as_root_switches_to_the_apps_user(run_app, apps) -> None:
    c, _, _, _ = start_hello(run_app, apps["hello-plain"])
    assert c.exec("arthas", user="0").stdout.strip().endswith("as app")


def test_a_layered_spring_boot_jar_runs_exploded(run_app, apps, podman_env) -> None:
    c, _, _, body = start_hello(run_app, apps["hello-boot"])
    assert body.startswith("hello hello-boot build=v1") and "loader=exploded" in body
    listing = c.exec("ls", "/app", "/app/BOOT-INF/lib").stdout.split()
    assert {"BOOT-INF", "META-INF", "org", "greeting-1.0.jar", "util-1.1-SNAPSHOT.jar"} <= set(listing)
    history = podman(podman_env, "history", "--format", "{{.CreatedBy}}", apps["hello-boot"]).stdout.splitlines()
    # Newest first: the app's four layers on top of the base's.
    assert history[:4] == ["pipeyard b2i: application layer", "pipeyard b2i: snapshot-dependencies layer",
                           "pipeyard b2i: spring-boot-loader layer", "pipeyard b2i: dependencies layer"]
    # Root owns the app's files, and the app's user reads them: nothing in /app is writable by the app.
    assert c.exec("sh", "-c", "find /app -newer /etc/hostname -o ! -user root | head -1").stdout == ""
    assert c.exec("stat", "-c", "%a %U %Y", "/app/BOOT-INF/lib/greeting-1.0.jar").stdout.split() == \
        ["644", "root", "315532800"]


def test_a_plain_jar_with_its_dependencies_runs_on_its_class_path(run_app, apps) -> None:
    c, _, _, body = start_hello(run_app, apps["hello-thin"])
    assert body.startswith("hello hello-thin build=v1") and "loader=plain" in body
    assert sorted(c.exec("ls", "/app/lib").stdout.split()) == ["greeting-1.0.jar", "util-1.1-SNAPSHOT.jar"]
    pid = c.exec("cat", "/tmp/b2i-app.pid").stdout.strip()
    command = c.exec("jcmd", pid, "VM.command_line").stdout
    assert "java_command: com.example.demo.Hello" in command
    # The JVM expands lib/* itself (the launcher runs with globbing off).
    assert "java_class_path (initial): /app/app.jar:/app/lib/greeting-1.0.jar:/app/lib/util-1.1-SNAPSHOT.jar" in command


def test_a_plain_fat_jar_runs(run_app, apps) -> None:
    _, _, _, body = start_hello(run_app, apps["hello-plain"])
    assert "build=v1" in body and "loader=plain" in body


def test_the_memory_calculator_sizes_the_jvm_from_the_container_limit(run_app, apps, podman_env) -> None:
    port = free_port()
    c = run_app(apps["hello-plain"], memory="1g", env={"PORT": str(port), "B2I_APP_PORT": str(port),
                                                      "B2I_METRICS": "off"})
    body = wait_http(f"http://127.0.0.1:{port}/")
    split = re.search(r"b2i-launch: memory: limit 1024 MiB: heap (\d+) MiB, metaspace (\d+) MiB \((\d+) classes\)",
                      c.logs())
    assert split, c.logs()
    heap, metaspace, classes = (int(g) for g in split.groups())
    # The base counted the JDK's classes when it was built; the app's come from the build (B2I_CLASS_COUNT).
    counts = dict(line.split() for line in c.exec("cat", "/opt/b2i/class-counts").stdout.splitlines())
    app_classes = int(c.exec("printenv", "B2I_CLASS_COUNT").stdout)
    assert int(counts["jdk"]) > 20000 and app_classes == 2
    assert classes == (int(counts["jdk"]) + app_classes) * 35 // 100
    assert metaspace == -(-(classes * 5800 + 14_000_000) // 2**20)
    assert 300 < heap < 1024 - metaspace - 250 - 240 - 10
    command = c.exec("jcmd", c.exec("cat", "/tmp/b2i-app.pid").stdout.strip(), "VM.command_line").stdout
    for flag in (f"-Xmx{heap}m", "-Xss1024k", f"-XX:MaxMetaspaceSize={metaspace}m", "-XX:ReservedCodeCacheSize=240m",
                 "-XX:MaxDirectMemorySize=10m"):
        assert flag in command, flag
    # What the JVM reports as its maximum heap leaves out one survivor space: at most the -Xmx.
    assert 0.8 * heap * 2**20 < int(re.search(r"maxHeap=(\d+)", body).group(1)) <= heap * 2**20
    small = podman(podman_env, "run", "--rm", "--memory", "256m", apps["hello-plain"], check=False)
    assert small.returncode == 1
    assert small.stderr.startswith("b2i-launch: error: the container memory limit (256 MiB) is too small for the JVM")


def test_report_fonts_resolve_to_liberation_and_a_cjk_font(podman_env, apps) -> None:
    result = podman(podman_env, "run", "--rm", "-e", "JAVA_OPTS=--add-exports java.desktop/sun.font=ALL-UNNAMED "
                    "-Djava.awt.headless=true", apps["fontcheck"], "b2i-launch",
                    "Arial", "Quarterly report", "SimSun", "季度报表", "Microsoft YaHei", "微软雅黑")
    rows = {line.split("|")[0]: line.split("|") for line in result.stdout.splitlines()}
    assert rows["Arial"][2] == "Liberation Sans" and int(rows["Arial"][3]) > 100
    assert rows["SimSun"][2] in ("WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Serif CJK SC")
    assert int(rows["SimSun"][3]) > 100 and int(rows["Microsoft YaHei"][3]) > 100
    fc = podman(podman_env, "run", "--rm", apps["fontcheck"], "sh", "-c",
                "fc-match Arial; fc-match 'Times New Roman'; fc-match SimSun; fc-match 'Microsoft YaHei'").stdout
    assert fc.splitlines() == ['LiberationSans-Regular.ttf: "Liberation Sans" "Regular"',
                               'LiberationSerif-Regular.ttf: "Liberation Serif" "Regular"',
                               'wqy-microhei.ttc: "WenQuanYi Micro Hei" "Regular"',
                               'wqy-microhei.ttc: "WenQuanYi Micro Hei" "Regular"']


def test_the_image_runs_as_a_numeric_non_root_user_with_labels(podman_env, apps, jars) -> None:
    info = json.loads(podman(podman_env, "image", "inspect", apps["hello-traced"]).stdout)[0]
    assert info["Config"]["User"] == "10001:10001"
    labels = info["Config"]["Labels"]
    assert labels["io.pipeyard.b2i.app"] == "hello-traced"
    assert labels["io.pipeyard.b2i.tracing"] == "on" and labels["io.pipeyard.b2i.metrics"] == "on"
    import hashlib

    assert labels["io.pipeyard.b2i.jar-sha256"] == hashlib.sha256(jars["fat"].read_bytes()).hexdigest()
    assert podman(podman_env, "run", "--rm", apps["hello-traced"], "id", "-u").stdout.strip() == "10001"
    assert podman(podman_env, "run", "--rm", apps["hello-traced"], "sh", "-c", "echo $TZ; date +%Z").stdout.split() == ["UTC"]


def test_bad_settings_stop_the_container_with_every_problem(podman_env, apps) -> None:
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        s.listen()
        busy = s.getsockname()[1]
        result = podman(podman_env, "run", "--rm", "-e", "B2I_TRACING=on", "-e", f"B2I_METRICS_PORT={busy}",
                        "-e", "TZ=Asia/Nowhere", apps["hello-plain"], check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("b2i-launch: error: 3 configuration problems:")
    assert f"B2I_METRICS_PORT={busy} is already in use in this container" in result.stderr
    assert "SW_AGENT_COLLECTOR_BACKEND_SERVICES is not set" in result.stderr
    assert "TZ='Asia/Nowhere' is not a known time zone" in result.stderr


def test_tz_is_set_per_app(podman_env, base_image, spec_path, jars, project) -> None:
    result = build_app(spec_path, jars["fat"], "hello-tz", "--tz", "Asia/Shanghai", "--metrics", "off", project=project)
    assert result.returncode == 0, result.stderr
    image = pull(podman_env, pinned(result))
    out = podman(podman_env, "run", "--rm", image, "b2i-launch", "--exit").stdout
    assert out.startswith("maxHeap=")
    assert podman(podman_env, "run", "--rm", image, "date", "+%Z").stdout.strip() == "CST"


def test_the_same_jar_again_uploads_nothing(base_image, spec_path, jars, apps, project, workdir) -> None:
    again = build_app(spec_path, jars["fat"], "hello-traced", "--tracing", "on", project=project,
                      env={"PIPEYARD_CACHE_DIR": str(workdir / "cache")})
    assert again.returncode == 0, again.stderr
    assert pinned(again) == apps["hello-traced"]
    assert ": nothing changed: 0 blobs uploaded" in again.stderr


def test_the_engine_path_still_builds_into_the_local_store(podman_env, base_image, spec_path, jars, run_app) -> None:
    built = build_app(spec_path, jars["layered"], "hello-engine", "--engine")
    assert built.returncode == 0, built.stderr[-2000:]
    assert built.stdout.strip().startswith("localhost/pipeyard/b2i/hello-engine:")
    _, _, _, body = start_hello(run_app, built.stdout.strip())
    assert body.startswith("hello hello-engine build=v1") and "loader=exploded" in body
    again = build_app(spec_path, jars["layered"], "hello-engine", "--engine")
    assert again.stdout == built.stdout and "is already built from this jar" in again.stderr


def test_a_checksum_mismatch_fails_the_base_build(spec_path, tmp_path, mirror) -> None:
    bad = tmp_path / "b2i"
    import shutil

    shutil.copytree(spec_path.parent, bad)
    text = (bad / "b2i.yaml").read_text()
    real = mirror[1]["skywalking"].sha256
    (bad / "b2i.yaml").write_text(text.replace(real, "f" * 64))
    result = b2i("base", "--config", str(bad / "b2i.yaml"), env={"PIPEYARD_CACHE_DIR": str(tmp_path / "cache")})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: checksum mismatch for apache-skywalking-java-agent-9.5.0.tgz: expected sha256:{'f' * 64}, "
        f"got sha256:{real}: check the mirror, or update the pinned sha256 if the new file is trusted")
    assert "Traceback" not in result.stderr


def test_an_app_without_its_base_says_how_to_build_it(spec_path, jars, tmp_path) -> None:
    import shutil

    import yaml

    other = tmp_path / "b2i"
    shutil.copytree(spec_path.parent, other)
    data = yaml.safe_load((other / "b2i.yaml").read_text())
    data["variants"]["21-unbuilt"] = {"release": "trixie", "jdk": "21", "packages": ["openjdk-21-jdk-headless"]}
    (other / "b2i.yaml").write_text(yaml.safe_dump(data))
    result = build_app(other / "b2i.yaml", jars["fat"], "hello-x", "--variant", "21-unbuilt", "--engine")
    assert result.returncode == 1
    assert result.stderr.strip() == ("error: the B2I base image localhost/pipeyard/b2i-java:21-unbuilt is not in the "
                                     "local image store: build it first: pipeyard b2i base --variant 21-unbuilt, or pass "
                                     "--base with the published base image")


def test_an_app_without_its_base_in_the_registry_says_how_to_publish_it(spec_path, jars, project) -> None:
    result = build_app(spec_path, jars["fat"], "hello-x", "--variant", "17-bookworm", "--registry",
                       project.replace("b2itest", "nobase"))
    assert result.returncode == 1
    target = project.replace("b2itest", "nobase")
    assert result.stderr.strip() == (f"error: the base image {target}/b2i-java:17-bookworm is not in its registry: "
                                     f"publish it first: pipeyard b2i base --variant 17-bookworm --push --registry "
                                     f"{target}, or pass --base")


def test_licensed_fonts_go_only_into_the_private_image(podman_env, base_image, spec_path, tmp_path) -> None:
    fonts = tmp_path / "fonts"
    fonts.mkdir()
    # A free font plays the company's licensed one.
    (fonts / "companyfont.ttf").write_bytes(Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf").read_bytes())
    result = b2i("base", "--config", str(spec_path), "--licensed-fonts", str(fonts))
    assert result.returncode == 0, result.stderr[-2000:]
    private = result.stdout.split()[-1]
    assert private == base_image + "-licensed"
    listed = podman(podman_env, "run", "--rm", private, "fc-list", ":", "file").stdout
    assert "/usr/share/fonts/truetype/licensed/companyfont.ttf" in listed
    public = podman(podman_env, "run", "--rm", base_image, "sh", "-c", "ls /usr/share/fonts/truetype").stdout
    assert "licensed" not in public.split()
    labels = json.loads(podman(podman_env, "image", "inspect", private).stdout)[0]["Config"]["Labels"]
    assert labels["io.pipeyard.b2i.licensed-fonts"] == "true"


def test_the_jdk17_bookworm_variant_runs_apps_and_renders_fonts(podman_env, spec_path, jars, run_app, project) -> None:
    result = b2i("base", "--config", str(spec_path), "--variant", "17-bookworm", "--push", "--registry", project)
    assert result.returncode == 0, result.stderr[-3000:]
    images = {}
    for name, jar, extra in (("hello17", jars["fat"], ("--tracing", "on")), ("fonts17", jars["fonts"], ("--metrics", "off"))):
        built = build_app(spec_path, jar, name, "--variant", "17-bookworm", *extra, project=project)
        assert built.returncode == 0, built.stderr[-2000:]
        images[name] = pull(podman_env, pinned(built))
    c, _, metrics, body = start_hello(run_app, images["hello17"], **COLLECTOR)
    assert "build=v1" in body and "jmx_config_file" in wait_http(f"http://127.0.0.1:{metrics}/metrics")
    assert len(markers(c, "skywalking")) == 1
    assert c.exec("java", "-version").stderr.startswith('openjdk version "17.')
    assert c.exec("arthas").stdout.startswith("attached to ")
    out = podman(podman_env, "run", "--rm", "-e", "JAVA_OPTS=--add-exports java.desktop/sun.font=ALL-UNNAMED",
                 images["fonts17"], "b2i-launch", "Arial", "Report", "SimSun", "报表").stdout
    rows = [line.split("|") for line in out.splitlines()]
    assert rows[0][2] == "Liberation Sans" and rows[1][2] == "WenQuanYi Micro Hei"


def test_remote_debugging_answers_a_debugger_on_its_port(run_app, apps) -> None:
    port, debug = free_port(), free_port()
    c = run_app(apps["hello-plain"], env={"PORT": str(port), "B2I_APP_PORT": str(port), "B2I_METRICS": "off",
                                          "B2I_DEBUG": "on", "B2I_DEBUG_PORT": str(debug)})
    wait_http(f"http://127.0.0.1:{port}/")  # suspend=n: the app runs without waiting for a debugger
    # The JDWP handshake (the Java Debug Wire Protocol spec): the client sends the 14 ASCII bytes, the VM echoes them.
    with socket.create_connection(("127.0.0.1", debug), timeout=10) as s:
        s.sendall(b"JDWP-Handshake")
        assert s.recv(14) == b"JDWP-Handshake"
    assert f"b2i-launch: remote debugging: JDWP on 127.0.0.1:{debug}, suspend=n" in c.logs()


def test_a_class_data_sharing_archive_is_written_at_first_exit_and_mapped_after(run_app, apps, tmp_path) -> None:
    volume = tmp_path / "cds"
    volume.mkdir()
    port = free_port()
    env = {"PORT": str(port), "B2I_APP_PORT": str(port), "B2I_METRICS": "off", "B2I_CDS": "on"}
    first = run_app(apps["hello-plain"], env=env, volumes=(f"{volume}:/var/lib/b2i/cds:U",))
    wait_http(f"http://127.0.0.1:{port}/")
    assert "class-data sharing: no archive yet" in first.logs()
    first.stop()
    [archive] = list(volume.glob("*.jsa"))
    app_id = podman(first.env, "image", "inspect", "--format", "{{range .Config.Env}}{{println .}}{{end}}",
                    apps["hello-plain"]).stdout
    assert re.search(r"^B2I_APP_ID=([0-9a-f]{16})$", app_id, re.M).group(1) in archive.name
    assert archive.name.startswith("hello-plain-") and "-jdk21." in archive.name and archive.stat().st_size > 1 << 20
    second = run_app(apps["hello-plain"], env=env, volumes=(f"{volume}:/var/lib/b2i/cds:U",))
    wait_http(f"http://127.0.0.1:{port}/")
    assert f"class-data sharing: mapping /var/lib/b2i/cds/{archive.name}" in second.logs()
    # The JVM really mapped it: the archive is in the app process's memory map.
    maps = second.exec("sh", "-c", "grep -c 'b2i/cds/.*\\.jsa' /proc/$(cat /tmp/b2i-app.pid)/maps").stdout
    assert int(maps.strip()) >= 1
