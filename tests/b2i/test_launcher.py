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
    # What the base image's build counted (b2i/Dockerfile).
    (root / "class-counts").write_text("jdk 26000\nskywalking 4000\njmx_exporter 1000\n")
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


GIB = 1 << 30


def limit_to(home: Path, limit: int) -> None:
    (home.parent / "cgroup" / "memory.max").write_text(f"{limit}\n")


def memory_flags(argv: list[str]) -> list[str]:
    return [w for w in argv if w.startswith(("-Xmx", "-Xss", "-XX:MaxMetaspaceSize", "-XX:ReservedCodeCacheSize",
                                             "-XX:MaxDirectMemorySize", "-XX:MaxRAM"))]


@pytest.mark.parametrize("layout", ["v2", "v1", "v2-nested", "v1-nested"])
def test_the_memory_limit_is_read_from_cgroup_v1_and_v2(home: Path, layout: str) -> None:
    cgroup = home.parent / "cgroup"
    proc = home.parent / "proc-cgroup"
    limit = str(GIB)
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
    result = launch(home, B2I_METRICS="off", B2I_PROC_CGROUP=str(proc), B2I_CLASS_COUNT="5000")
    assert words(result)[1] == "-Xmx399m"
    assert "b2i-launch: memory: limit 1024 MiB: heap 399 MiB" in result.stderr


# The regions, worked by hand from the Cloud Foundry / Paketo calculator's rules with the launcher's
# defaults: 250 threads x 1 MiB, a 240 MiB code cache, 10 MiB direct memory, 5% headroom, and a
# metaspace of 5800 bytes per loaded class + 14,000,000 bytes. The fake image holds 26,000 JDK classes
# and 5,000 of the app's: 35% of 31,000 = 10,850 loaded, 76,930,000 bytes = 73.4 MiB, 74 rounded up.
REGIONS = ["-Xss1024k", "-XX:MaxMetaspaceSize=74m", "-XX:ReservedCodeCacheSize=240m", "-XX:MaxDirectMemorySize=10m"]


@pytest.mark.parametrize("limit, heap, line", [
    # 1 GiB - (10,485,760 + 76,930,000 + 251,658,240 + 262,144,000 + 53,687,091 headroom) = 418,836,733 bytes.
    (GIB, "-Xmx399m", "limit 1024 MiB: heap 399 MiB, metaspace 74 MiB (10850 classes), thread stacks 250 MiB "
                      "(250 x 1024 KiB), code cache 240 MiB, direct memory 10 MiB, headroom 52 MiB (5%)"),
    # 8 GiB - (10,485,760 + 76,930,000 + 251,658,240 + 262,144,000 + 429,496,729 headroom) = 7,559,219,863 bytes.
    (8 * GIB, "-Xmx7209m", "limit 8192 MiB: heap 7209 MiB, metaspace 74 MiB (10850 classes), thread stacks 250 MiB "
                           "(250 x 1024 KiB), code cache 240 MiB, direct memory 10 MiB, headroom 410 MiB (5%)"),
])
def test_the_memory_calculator_splits_the_limit_into_the_jvm_regions(home: Path, limit: int, heap: str,
                                                                     line: str) -> None:
    limit_to(home, limit)
    result = launch(home, B2I_METRICS="off", B2I_CLASS_COUNT="5000")
    assert memory_flags(words(result)) == [heap, *REGIONS]
    # Printed once, on stderr, before the JVM starts.
    assert result.stderr == f"b2i-launch: memory: {line}\n"


def test_a_limit_too_small_for_the_other_regions_is_refused_with_what_would_fit(home: Path) -> None:
    limit_to(home, 256 << 20)
    result = launch(home, B2I_METRICS="off", B2I_CLASS_COUNT="5000")
    assert result.returncode == 1 and result.stdout == ""
    # (614,639,772 - 13,421,772 headroom + a 32 MiB heap) / 95% = 668,181,507 bytes, plus rounding: 638 MiB.
    assert result.stderr == (
        "b2i-launch: error: the container memory limit (256 MiB) is too small for the JVM: metaspace 74 MiB, 250 thread "
        "stacks 250 MiB, code cache 240 MiB, direct memory 10 MiB and 5% headroom leave less than a 32 MiB heap: raise "
        "the limit to at least 638 MiB, or lower B2I_THREAD_COUNT or B2I_CODE_CACHE, or set -Xmx in JAVA_OPTS\n")
    # 256 MiB with fewer threads and a smaller code cache: 268,435,456 - (10,485,760 + 76,930,000 + 41,943,040
    # + 50,331,648 + 13,421,772) = 75,323,236 bytes of heap.
    small = launch(home, B2I_METRICS="off", B2I_CLASS_COUNT="5000", B2I_THREAD_COUNT="40", B2I_CODE_CACHE="48m")
    assert memory_flags(words(small)) == ["-Xmx71m", "-Xss1024k", "-XX:MaxMetaspaceSize=74m",
                                          "-XX:ReservedCodeCacheSize=48m", "-XX:MaxDirectMemorySize=10m"]


def test_switched_on_agents_count_in_the_metaspace(home: Path) -> None:
    limit_to(home, GIB)
    argv = words(launch(home, B2I_CLASS_COUNT="5000", B2I_TRACING="on", SW_AGENT_COLLECTOR_BACKEND_SERVICES="oap:11800"))
    # + 4,000 SkyWalking and 1,000 exporter classes: 35% of 36,000 = 12,600 loaded; 87,080,000 bytes = 84 MiB.
    assert "-XX:MaxMetaspaceSize=84m" in argv
    assert "-XX:MaxMetaspaceSize=94m" in words(launch(home, B2I_METRICS="off", B2I_LOADED_CLASSES="14500"))


@pytest.mark.parametrize("value", ["max", "9223372036854771712"])
def test_no_limit_leaves_the_memory_to_the_jvm(home: Path, value: str) -> None:
    (home.parent / "cgroup" / "memory.max").write_text(value + "\n")
    result = launch(home, B2I_METRICS="off")
    assert memory_flags(words(result)) == [] and "memory" not in result.stderr


def test_a_heap_set_in_java_opts_wins_and_the_rest_is_sized_around_it(home: Path) -> None:
    limit_to(home, 256 << 20)  # too small for the defaults, but the user said what they want
    for opt in ("-Xmx100m", "-XX:MaxRAMPercentage=60"):
        result = launch(home, B2I_METRICS="off", B2I_CLASS_COUNT="5000", JAVA_OPTS=opt)
        argv = words(result)
        assert [w for w in argv if w.startswith(("-Xmx", "-XX:MaxRAM"))] == [opt]
        assert argv.index(opt) > argv.index("-XX:MaxDirectMemorySize=10m"), "JAVA_OPTS come last and win"
        assert "heap" in result.stderr and "(from JAVA_OPTS)" in result.stderr
    over = launch(home, B2I_METRICS="off", B2I_CLASS_COUNT="5000", JAVA_OPTS="-Xmx100m")
    assert "add up to 687 MiB, more than the limit: the container may be killed for memory" in over.stderr
    own = words(launch(home, B2I_METRICS="off", B2I_CLASS_COUNT="5000", JAVA_OPTS="-Xss512k -XX:MaxMetaspaceSize=64m "
                       "-XX:ReservedCodeCacheSize=32m -XX:MaxDirectMemorySize=5m -XX:ThreadStackSize=256"))
    # Every region the user set keeps its value (and their flags only); the heap gets the rest:
    # -XX:ThreadStackSize=256 comes last and wins over -Xss512k, for the JVM as for the calculator:
    # 268,435,456 - (5 MiB + 64 MiB + 32 MiB + 250 x 256 KiB + 13,421,772) = 83,571,508 bytes.
    assert memory_flags(own) == ["-Xmx79m", "-Xss512k", "-XX:MaxMetaspaceSize=64m", "-XX:ReservedCodeCacheSize=32m",
                                 "-XX:MaxDirectMemorySize=5m"]


def test_heap_percent_sets_the_heap_and_the_calculator_sizes_the_rest(home: Path) -> None:
    limit_to(home, GIB)
    result = launch(home, B2I_METRICS="off", B2I_CLASS_COUNT="5000", B2I_HEAP_PERCENT="40")
    assert memory_flags(words(result)) == ["-Xmx409m", *REGIONS]
    assert "heap 409 MiB (from B2I_HEAP_PERCENT=40)" in result.stderr


def test_bad_memory_settings_are_each_named(home: Path) -> None:
    limit_to(home, GIB)
    result = launch(home, B2I_THREAD_COUNT="many", B2I_THREAD_STACK="1 MB", B2I_CODE_CACHE="big",
                    B2I_DIRECT_MEMORY="-1", B2I_MEMORY_HEADROOM="80", B2I_HEAP_PERCENT="99", B2I_LOADED_CLASSES="x")
    assert result.stderr.startswith("b2i-launch: error: 7 configuration problems:")
    for name in ("B2I_THREAD_COUNT='many'", "B2I_THREAD_STACK='1 MB' is not a size", "B2I_CODE_CACHE='big'",
                 "B2I_DIRECT_MEMORY='-1'", "B2I_MEMORY_HEADROOM='80' is not a percentage from 0 to 50",
                 "B2I_HEAP_PERCENT='99'", "B2I_LOADED_CLASSES='x'"):
        assert name in result.stderr, name


# -- remote debugging ---------------------------------------------------------------------------------
def test_debug_on_adds_jdwp_on_loopback_without_suspending(home: Path) -> None:
    result = launch(home, B2I_METRICS="off", B2I_DEBUG="on")
    assert words(result)[1] == "-agentlib:jdwp=transport=dt_socket,server=y,suspend=n,address=127.0.0.1:5005"
    assert result.stderr == ("b2i-launch: remote debugging: JDWP on 127.0.0.1:5005, suspend=n "
                             "(kubectl port-forward POD 5005 reaches it)\n")
    suspended = words(launch(home, B2I_METRICS="off", B2I_DEBUG="on", B2I_DEBUG_PORT="8000", B2I_DEBUG_HOST="*",
                             B2I_DEBUG_SUSPEND="on"))
    assert suspended[1] == "-agentlib:jdwp=transport=dt_socket,server=y,suspend=y,address=*:8000"
    assert not any(w.startswith("-agentlib") for w in words(launch(home, B2I_METRICS="off")))


def test_debug_refuses_a_taken_or_clashing_port() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        env = {"PATH": os.environ["PATH"], "B2I_APP_NAME": "orders", "B2I_DRY_RUN": "1", "B2I_JAR": str(SCRIPT),
               "B2I_METRICS": "off", "B2I_DEBUG": "on", "B2I_DEBUG_PORT": str(port), "B2I_HOME": "/nonexistent"}
        result = subprocess.run(["dash", str(SCRIPT)], capture_output=True, text=True, env=env)
    assert result.returncode == 1
    assert f"B2I_DEBUG_PORT={port} is already in use in this container: set B2I_DEBUG_PORT to a free port" in result.stderr


@pytest.mark.parametrize("env, clash", [({"B2I_DEBUG_PORT": "8080"}, "B2I_APP_PORT"),
                                        ({"B2I_DEBUG_PORT": "9404"}, "B2I_METRICS_PORT"),
                                        ({"JAVA_OPTS": "-agentlib:jdwp=transport=dt_socket,server=y"}, "JAVA_OPTS")])
def test_debug_refuses_clashes_and_a_second_jdwp(home: Path, env: dict[str, str], clash: str) -> None:
    result = launch(home, B2I_DEBUG="on", **env)
    assert result.returncode == 1
    if clash == "JAVA_OPTS":
        assert "JAVA_OPTS loads the JDWP agent and B2I_DEBUG=on loads it too" in result.stderr
    else:
        assert f"B2I_DEBUG_PORT={env['B2I_DEBUG_PORT']} clashes with {clash}" in result.stderr


# -- class-data sharing ---------------------------------------------------------------------------------
def fake_jdk(home: Path, version: str) -> Path:
    jdk = home.parent / f"jdk-{version}"
    (jdk / "bin").mkdir(parents=True)
    (jdk / "bin" / "java").write_text("#!/bin/sh\n")
    (jdk / "bin" / "java").chmod(0o755)
    (jdk / "release").write_text(f'IMPLEMENTOR="Debian"\nJAVA_VERSION="{version}"\nOS_NAME="Linux"\n')
    return jdk


@pytest.fixture
def cds_dir(home: Path) -> Path:
    folder = home.parent / "cds"
    folder.mkdir()
    return folder


def test_cds_on_jdk_21_lets_the_jvm_write_and_map_the_archive(home: Path, cds_dir: Path) -> None:
    jdk = fake_jdk(home, "21.0.5")
    result = launch(home, B2I_METRICS="off", B2I_CDS="on", B2I_CDS_DIR=str(cds_dir), B2I_APP_ID="0123456789abcdef",
                    JAVA_HOME=str(jdk))
    archive = f"{cds_dir}/orders-0123456789abcdef-jdk21.0.5.jsa"
    assert words(result)[1:5] == [f"-XX:SharedArchiveFile={archive}", "-XX:+AutoCreateSharedArchive",
                                  "-Xlog:cds=off", "-Xlog:cds+dynamic=off"]
    assert f"no archive yet; the JVM writes {archive} when it exits" in result.stderr
    Path(archive).write_bytes(b"archive")
    assert f"class-data sharing: mapping {archive}" in launch(
        home, B2I_METRICS="off", B2I_CDS="on", B2I_CDS_DIR=str(cds_dir), B2I_APP_ID="0123456789abcdef",
        JAVA_HOME=str(jdk)).stderr


def test_cds_on_jdk_17_dumps_at_exit_first_then_maps(home: Path, cds_dir: Path) -> None:
    jdk = fake_jdk(home, "17.0.13")
    env = {"B2I_METRICS": "off", "B2I_CDS": "on", "B2I_CDS_DIR": str(cds_dir), "B2I_APP_ID": "feed", "JAVA_HOME": str(jdk)}
    archive = cds_dir / "orders-feed-jdk17.0.13.jsa"
    assert words(launch(home, **env))[1] == f"-XX:ArchiveClassesAtExit={archive}"
    archive.write_bytes(b"archive")
    assert words(launch(home, **env))[1] == f"-XX:SharedArchiveFile={archive}"


def test_cds_is_left_off_where_it_cannot_work(home: Path, cds_dir: Path) -> None:
    old = launch(home, B2I_METRICS="off", B2I_CDS="on", B2I_CDS_DIR=str(cds_dir), B2I_APP_ID="feed",
                 JAVA_HOME=str(fake_jdk(home, "11.0.25")))
    assert not any("Archive" in w for w in words(old))
    assert "class-data sharing: off, the JDK (11.0.25) cannot write a dynamic archive" in old.stderr
    unkeyed = launch(home, B2I_METRICS="off", B2I_CDS="on", B2I_CDS_DIR=str(cds_dir),
                     JAVA_HOME=str(fake_jdk(home, "21.0.5")))
    assert "this image has no B2I_APP_ID" in unkeyed.stderr and not any("Archive" in w for w in words(unkeyed))
    refused = launch(home, B2I_METRICS="off", B2I_CDS="on", B2I_CDS_DIR=str(home.parent / "nowhere"), B2I_APP_ID="f")
    assert refused.returncode == 1
    assert f"B2I_CDS=on but B2I_CDS_DIR={home.parent / 'nowhere'} is not a writable folder: mount a volume" in refused.stderr


def test_a_plain_jar_with_dependencies_runs_its_main_class_on_the_baked_class_path(home: Path) -> None:
    argv = words(launch(home, B2I_METRICS="off", B2I_MAIN_CLASS="com.example.Main",
                        B2I_CLASSPATH="/app/app.jar:/app/lib/*"))
    assert argv == ["java", "-cp", "/app/app.jar:/app/lib/*", "com.example.Main"]


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
                 "the container memory limit (40 MiB) is too small for the JVM"):
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
