"""b2i-launch, the image's command, run with dash on the host against fake cgroup and /proc trees."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from pipeyard.b2i import launcher_path
from tests.fixtures import ROOT

SCRIPT = launcher_path(ROOT / "b2i")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A fake /opt/b2i with both agents and the exporter's rules, and an app jar."""
    root = tmp_path / "b2i"
    (root / "agents" / "skywalking").mkdir(parents=True)
    (root / "agents" / "skywalking" / "skywalking-agent.jar").write_bytes(b"jar")
    (root / "agents" / "jmx_prometheus_javaagent.jar").write_bytes(b"jar")
    (root / "jmx").mkdir()
    (root / "jmx" / "config.yaml").write_text("rules: []\n")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "app.jar").write_bytes(b"jar")
    (tmp_path / "net").mkdir()
    for table in ("tcp", "tcp6"):
        (tmp_path / "net" / table).write_text("  sl  local_address rem_address   st\n")
    (tmp_path / "cgroup").mkdir()
    return root


def launch(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {
        "PATH": os.environ["PATH"], "B2I_HOME": str(home), "B2I_APP_DIR": str(home.parent / "app"),
        "B2I_APP_NAME": "orders", "B2I_DRY_RUN": "1", "B2I_CGROUP_ROOT": str(home.parent / "cgroup"),
        "B2I_PROC_CGROUP": str(home.parent / "no-such-file"), "B2I_PROC_NET": str(home.parent / "net"),
    }
    return subprocess.run(["dash", str(SCRIPT), *args], capture_output=True, text=True, env={**base, **env})


def words(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_defaults_run_the_jar_with_the_metrics_agent_only(home: Path) -> None:
    argv = words(launch(home))
    assert argv == ["java", f"-javaagent:{home}/agents/jmx_prometheus_javaagent.jar=9404:{home}/jmx/config.yaml",
                    "-jar", f"{home.parent}/app/app.jar"]


def test_tracing_on_adds_skywalking_with_its_service_name_and_collector(home: Path) -> None:
    argv = words(launch(home, B2I_TRACING="on", B2I_METRICS="off", SW_AGENT_COLLECTOR_BACKEND_SERVICES="oap:11800"))
    assert argv[1:4] == [f"-javaagent:{home}/agents/skywalking/skywalking-agent.jar",
                         "-Dskywalking.agent.service_name=orders", "-Dskywalking.collector.backend_service=oap:11800"]
    named = words(launch(home, B2I_TRACING="on", SW_AGENT_NAME="orders-eu",
                         SW_AGENT_COLLECTOR_BACKEND_SERVICES="a:11800,b:11800"))
    assert "-Dskywalking.agent.service_name=orders-eu" in named
    assert "-Dskywalking.collector.backend_service=a:11800,b:11800" in named


def test_everything_off_is_a_plain_java_jar(home: Path) -> None:
    assert words(launch(home, B2I_METRICS="off", B2I_TRACING="false")) == ["java", "-jar", f"{home.parent}/app/app.jar"]


def test_java_opts_and_app_arguments_keep_their_words(home: Path) -> None:
    argv = words(launch(home, "--spring.profiles.active=prod", "two words", "*", B2I_METRICS="off",
                        JAVA_OPTS="-Dfoo=bar  -XX:+UseG1GC -Dglob=*"))
    assert argv == ["java", "-Dfoo=bar", "-XX:+UseG1GC", "-Dglob=*", "-jar", f"{home.parent}/app/app.jar",
                    "--spring.profiles.active=prod", "two words", "*"]


def test_an_exploded_spring_boot_app_runs_its_launcher_class(home: Path) -> None:
    argv = words(launch(home, B2I_METRICS="off", B2I_MAIN_CLASS="org.springframework.boot.loader.launch.JarLauncher"))
    assert argv == ["java", "-cp", f"{home.parent}/app", "org.springframework.boot.loader.launch.JarLauncher"]


@pytest.mark.parametrize("layout", ["v2", "v1", "v2-nested", "v1-nested"])
def test_heap_follows_the_cgroup_memory_limit(home: Path, layout: str) -> None:
    cgroup = home.parent / "cgroup"
    proc = home.parent / "proc-cgroup"
    limit = str(512 * 1024 * 1024)
    if layout == "v2":
        (cgroup / "memory.max").write_text(limit + "\n")
    elif layout == "v1":
        (cgroup / "memory").mkdir()
        (cgroup / "memory" / "memory.limit_in_bytes").write_text(limit + "\n")
    elif layout == "v2-nested":
        (cgroup / "kubepods" / "pod1").mkdir(parents=True)
        (cgroup / "kubepods" / "pod1" / "memory.max").write_text(limit + "\n")
        proc.write_text("0::/kubepods/pod1\n")
    else:
        (cgroup / "memory" / "docker" / "abc").mkdir(parents=True)
        (cgroup / "memory" / "docker" / "abc" / "memory.limit_in_bytes").write_text(limit + "\n")
        (cgroup / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712\n")
        proc.write_text("12:cpuset:/docker/abc\n4:memory:/docker/abc\n0::/docker/abc\n")
    argv = words(launch(home, B2I_METRICS="off", B2I_PROC_CGROUP=str(proc)))
    assert argv[1] == "-Xmx384m"
    assert words(launch(home, B2I_METRICS="off", B2I_PROC_CGROUP=str(proc), B2I_HEAP_PERCENT="50"))[1] == "-Xmx256m"


@pytest.mark.parametrize("value", ["max", "9223372036854771712"])
def test_no_limit_leaves_the_heap_to_the_jvm(home: Path, value: str) -> None:
    (home.parent / "cgroup" / "memory.max").write_text(value + "\n")
    assert not any(w.startswith("-Xmx") for w in words(launch(home, B2I_METRICS="off")))


def test_a_heap_set_in_java_opts_wins(home: Path) -> None:
    (home.parent / "cgroup" / "memory.max").write_text(str(1 << 30))
    for opt in ("-Xmx700m", "-XX:MaxRAMPercentage=60"):
        argv = words(launch(home, B2I_METRICS="off", JAVA_OPTS=opt))
        assert [w for w in argv if w.startswith(("-Xmx", "-XX:MaxRAM"))] == [opt]


def test_every_problem_is_reported_at_once(home: Path) -> None:
    (home.parent / "cgroup" / "memory.max").write_text(str(40 * 1024 * 1024))
    result = launch(home, B2I_APP_NAME="bad name", B2I_TRACING="maybe", B2I_METRICS_PORT="8080",
                    JAVA_TOOL_OPTIONS="-javaagent:/x.jar", TZ="Mars/Olympus", B2I_JAR="/nope.jar",
                    JAVA_OPTS="-Dx='quoted'")
    assert result.returncode == 1 and result.stdout == ""
    err = result.stderr
    assert err.startswith("b2i-launch: error: 8 configuration problems:\n")
    for text in ("B2I_APP_NAME='bad name' is not a valid app name",
                 "no application jar at /nope.jar",
                 "JAVA_OPTS contains quotes",
                 "JAVA_TOOL_OPTIONS loads an agent: jps, jcmd and arthas would load it too; move it to JAVA_OPTS",
                 "B2I_TRACING='maybe' is not a switch: set it to on or off",
                 "B2I_METRICS_PORT=8080 clashes with the app's port (B2I_APP_PORT)",
                 "TZ='Mars/Olympus' is not a known time zone",
                 "the container memory limit (40 MiB) leaves a 30 MiB heap"):
        assert text in err, text
    assert "Traceback" not in err


def test_one_problem_is_one_line(home: Path) -> None:
    result = launch(home, B2I_TRACING="on")
    assert result.returncode == 1
    assert result.stderr == ("b2i-launch: error: SW_AGENT_COLLECTOR_BACKEND_SERVICES is not set: set it to the "
                             "SkyWalking OAP collector (host:11800), or set B2I_TRACING=off\n")


@pytest.mark.parametrize("env, args, source", [
    ({"B2I_APP_PORT": "9404"}, (), "B2I_APP_PORT"),
    ({"SERVER_PORT": "9404"}, (), "SERVER_PORT"),
    ({"JAVA_OPTS": "-Dserver.port=9404"}, (), "JAVA_OPTS(-Dserver.port)"),
    ({}, ("--server.port=9404",), "--server.port"),
    ({"B2I_METRICS_PORT": "9010", "JAVA_OPTS": "-Dcom.sun.management.jmxremote.port=9010"}, (),
     "JAVA_OPTS(jmxremote.port)"),
])
def test_a_metrics_port_clash_is_refused(home: Path, env: dict[str, str], args: tuple[str, ...], source: str) -> None:
    result = launch(home, *args, **env)
    assert result.returncode == 1
    assert f"clashes with the app's port ({source}): set B2I_METRICS_PORT to another port" in result.stderr


def test_a_metrics_port_already_listening_is_refused() -> None:
    # The real /proc/net of this machine, and a socket really listening.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        env = {"PATH": os.environ["PATH"], "B2I_APP_NAME": "orders", "B2I_DRY_RUN": "1", "B2I_JAR": str(SCRIPT),
               "B2I_METRICS_PORT": str(port), "B2I_HOME": "/nonexistent"}
        result = subprocess.run(["dash", str(SCRIPT)], capture_output=True, text=True, env=env)
    assert f"B2I_METRICS_PORT={port} is already in use in this container" in result.stderr


def test_agents_already_in_java_opts_are_refused_as_duplicates(home: Path) -> None:
    result = launch(home, B2I_TRACING="on", SW_AGENT_COLLECTOR_BACKEND_SERVICES="oap:11800",
                    JAVA_OPTS="-javaagent:/x/skywalking-agent.jar -javaagent:/y/jmx_prometheus_javaagent.jar=1:c")
    assert "JAVA_OPTS loads skywalking-agent.jar and B2I_TRACING=on loads it too" in result.stderr
    assert "JAVA_OPTS loads the JMX exporter and B2I_METRICS=on loads it too" in result.stderr


@pytest.mark.parametrize("bad", ["oap", ":11800", "oap:0", "oap:http", "oap:11800,"])
def test_a_malformed_collector_is_refused(home: Path, bad: str) -> None:
    result = launch(home, B2I_TRACING="on", SW_AGENT_COLLECTOR_BACKEND_SERVICES=bad)
    if bad.endswith(","):
        # A trailing comma leaves an empty field, which sh's splitting drops: the list is still valid.
        assert result.returncode == 0
    else:
        assert "SW_AGENT_COLLECTOR_BACKEND_SERVICES has" in result.stderr and "not host:port" in result.stderr


def test_the_launcher_passes_shellcheck() -> None:
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (scripts/setup-system.sh installs it)")
    for script in (SCRIPT, ROOT / "b2i" / "rootfs" / "usr" / "local" / "bin" / "arthas"):
        result = subprocess.run(["shellcheck", "-s", "sh", str(script)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout
