"""b2i.yaml, the agent downloads and the jar layouts: everything `pipeyard b2i` does before an engine or a registry."""

from __future__ import annotations

import os
import re
import subprocess
import zipfile
from pathlib import Path

import pytest

from pipeyard.b2i import agents, launcher_path, spec
from pipeyard.b2i.app import content_tag, dockerfile
from pipeyard_kit.b2i import jar, layout
from pipeyard_kit.b2i.request import AppRequest, validate
from pipeyard_kit.errors import ChecksumError, ConfigError, RemoteError
from pipeyard_kit.ocibuild.layer import FIXED_MTIME
from tests.fixtures import ROOT

from . import standins


@pytest.fixture(autouse=True)
def private_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PIPEYARD_CACHE_DIR", str(tmp_path / "cache"))


def test_b2i_yaml_pins_every_variant_and_every_agent() -> None:
    s = spec.load(ROOT / "b2i" / "b2i.yaml")
    # The maven provider's JDKs: 8, 11 and 25 as its variants install them (tests/b2i/test_variants.py).
    assert {(v.release, v.jdk) for v in s.variants.values()} == {
        ("trixie", "8"), ("trixie", "11"), ("bookworm", "17"), ("trixie", "21"), ("trixie", "25")}
    assert s.variants["17-bookworm"].packages == ("openjdk-17-jdk-headless",)
    assert s.variant(None).name == "21-trixie"
    assert sorted(s.agents) == ["arthas", "jmx_exporter", "skywalking"]
    for agent in s.agents.values():
        assert re.fullmatch(r"[0-9a-f]{64}", agent.sha256) and agent.version in agent.path
    assert s.user == 10001 and "fonts-liberation" in s.font_packages


def test_the_launcher_reads_every_setting_b2i_yaml_declares_with_the_same_default() -> None:
    text = launcher_path(ROOT / "b2i").read_text(encoding="utf-8")
    declared = spec.load(ROOT / "b2i" / "b2i.yaml").settings
    for setting in declared:
        assert setting.env in text, f"{setting.env} is declared in b2i.yaml but b2i-launch never reads it"
        if setting.default and not setting.default.startswith("$"):
            assert f"${{{setting.env}:-{setting.default}}}" in text, setting.env
    read = set(re.findall(r"\$\{(B2I_[A-Z_]+|SW_[A-Z_]+):-", text)) - {"B2I_HOME", "B2I_CGROUP_ROOT",
                                                                        "B2I_PROC_CGROUP", "B2I_PROC_NET",
                                                                        "B2I_ZONEINFO", "B2I_DRY_RUN"}
    assert read <= {s.env for s in declared}, read - {s.env for s in declared}


def test_the_readme_documents_every_setting() -> None:
    readme = (ROOT / "b2i" / "README.md").read_text(encoding="utf-8")
    for setting in spec.load(ROOT / "b2i" / "b2i.yaml").settings:
        assert f"| `{setting.env}` |" in readme, f"{setting.env} is missing from b2i/README.md's table"


def test_the_licensed_fonts_folder_never_lets_a_font_into_git() -> None:
    ignored = subprocess.run(["git", "check-ignore", "-q", "b2i/licensed-fonts/simsun.ttc"], cwd=ROOT)
    kept = subprocess.run(["git", "check-ignore", "-q", "b2i/licensed-fonts/README.md"], cwd=ROOT)
    assert ignored.returncode == 0 and kept.returncode == 1


def test_a_broken_b2i_yaml_reports_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "b2i.yaml"
    path.write_text("image: x\nmirror: http://m\ndefault_variant: 99-sid\nvariants: {21-trixie: {release: trixie}}\n"
                    "agents:\n  arthas: {version: 1, path: a.zip, sha256: abc, unpack: rar, install: /opt}\n")
    with pytest.raises(ConfigError) as info:
        spec.load(path)
    text = str(info.value)
    for part in ("default_variant '99-sid' is not a variant", "variants.21-trixie.jdk is missing",
                 "agents.arthas.sha256 'abc' is not 64 hex digits", "agents.arthas.unpack 'rar'",
                 "agents.arthas.install '/opt' must be a path inside /opt/b2i", "agents.skywalking is missing",
                 "agents.jmx_exporter is missing"):
        assert part in text, part


@pytest.fixture(scope="module")
def mirror_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, standins.AgentFile]]:
    work = tmp_path_factory.mktemp("agents")
    classes = standins.compile_all(work)
    root = work / "mirror"
    return root, standins.build_agents(classes, root)


def _spec_with(mirror_files, tmp_path: Path, **changes) -> spec.B2ISpec:
    root, files = mirror_files
    path = standins.write_spec(ROOT, tmp_path / "b2i", root.as_uri(), files, **changes)
    return spec.load(path)


def test_agents_are_verified_and_unpacked_like_upstream(mirror_files, tmp_path: Path) -> None:
    s = _spec_with(mirror_files, tmp_path)
    out = tmp_path / "opt"
    agents.install_all(s.agents, s.mirror, out)
    plugins = sorted(p.name for p in (out / "agents/skywalking/plugins").iterdir())
    assert plugins == ["apm-dubbo-2.7.x-plugin-9.5.0.jar", "apm-springmvc-annotation-5.x-plugin-9.5.0.jar",
                       "apm-trace-ignore-plugin-9.5.0.jar"]
    assert (out / "agents/skywalking/skywalking-agent.jar").is_file()
    assert (out / "agents/jmx_prometheus_javaagent.jar").is_file()
    assert os.access(out / "arthas/as.sh", os.X_OK) and (out / "arthas/arthas-boot.jar").is_file()


def test_a_checksum_mismatch_names_the_file_and_both_digests(mirror_files, tmp_path: Path) -> None:
    root, files = mirror_files
    s = _spec_with(mirror_files, tmp_path)
    wrong = "0" * 64
    agent = s.agents["jmx_exporter"].__class__(**{**s.agents["jmx_exporter"].__dict__, "sha256": wrong})
    with pytest.raises(ChecksumError) as info:
        agents.fetch(agent, s.mirror)
    assert str(info.value) == (f"checksum mismatch for jmx_prometheus_javaagent-1.6.0.jar: expected sha256:{wrong}, "
                               f"got sha256:{files['jmx_exporter'].sha256}: check the mirror, or update the pinned "
                               f"sha256 if the new file is trusted")
    assert not any((tmp_path / "cache").rglob("*.jar")), "an unverified file was kept"


def test_a_file_missing_on_the_mirror_names_where_it_should_be(mirror_files, tmp_path: Path) -> None:
    s = _spec_with(mirror_files, tmp_path)
    with pytest.raises(RemoteError) as info:
        agents.fetch(s.agents["arthas"], s.mirror + "/nowhere")
    assert "agents.arthas:" in str(info.value) and "upload arthas-bin.zip to the mirror at arthas/4.0.5/" in str(info.value)


def test_an_unknown_optional_plugin_lists_the_available_ones(mirror_files, tmp_path: Path) -> None:
    s = _spec_with(mirror_files, tmp_path, optional_plugins=("apm-nosuch",))
    with pytest.raises(Exception) as info:
        agents.install_all(s.agents, s.mirror, tmp_path / "opt")
    assert "no optional plugin starts with apm-nosuch" in str(info.value)
    assert "apm-gson-2.x-plugin-9.5.0.jar, apm-trace-ignore-plugin-9.5.0.jar" in str(info.value)


@pytest.fixture(scope="module")
def built_jars(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("jars")
    classes = standins.compile_all(work)
    return {"fat": standins.fat_jar(classes, work / "fat.jar"), "layered": standins.layered_jar(classes, work / "boot.jar"),
            "thin": standins.thin_jar(classes, work / "target")}


def _files(ctx: Path, name: str) -> list[str]:
    return sorted(str(p.relative_to(ctx / name)) for p in (ctx / name).rglob("*") if p.is_file())


def test_a_spring_boot_jar_splits_along_layers_idx(built_jars, tmp_path: Path) -> None:
    info = jar.inspect(built_jars["layered"])
    assert info.layered and info.start_class == "com.example.demo.Hello"
    plan = layout.plan(info)
    assert plan.kind == "layered" and plan.env == {"B2I_MAIN_CLASS": "org.springframework.boot.loader.launch.JarLauncher"}
    names = layout.materialize(plan, tmp_path / "ctx")
    assert names == ["dependencies", "spring-boot-loader", "snapshot-dependencies", "application"]
    files = {name: _files(tmp_path / "ctx", name) for name in names}
    assert files["dependencies"] == ["app/BOOT-INF/lib/greeting-1.0.jar"]
    assert files["snapshot-dependencies"] == ["app/BOOT-INF/lib/util-1.1-SNAPSHOT.jar"]
    assert files["spring-boot-loader"] == ["app/org/springframework/boot/loader/launch/JarLauncher.class"]
    assert "app/BOOT-INF/classes/com/example/demo/Hello.class" in files["application"]
    assert "app/META-INF/MANIFEST.MF" in files["application"]
    assert {p.stat().st_mtime for p in (tmp_path / "ctx").rglob("*")} == {FIXED_MTIME}
    # The classes the image holds, nested jars included: Hello, the greeting, the loader.
    assert plan.class_count == 3


def test_a_plain_jar_with_copied_dependencies_splits_releases_snapshots_and_the_jar(built_jars, tmp_path: Path) -> None:
    info = jar.inspect(built_jars["thin"])
    plan = layout.plan(info, layout.default_dependencies(built_jars["thin"]))
    assert plan.kind == "thin"
    assert [(s.name, [e.path for e in s.entries]) for s in plan.layers] == [
        ("dependencies", ["app/lib/greeting-1.0.jar"]),
        ("snapshot-dependencies", ["app/lib/util-1.1-SNAPSHOT.jar"]),
        ("application", ["app/app.jar"])]
    assert plan.env == {"B2I_MAIN_CLASS": "com.example.demo.Hello", "B2I_CLASSPATH": "/app/app.jar:/app/lib/*"}


@pytest.mark.parametrize("name, snapshot", [("util-1.1-SNAPSHOT.jar", True), ("util-1.1-20240101.120000-3.jar", True),
                                            ("util-1.1-SNAPSHOT-linux.jar", True), ("greeting-1.0.jar", False),
                                            ("snapshot-tools-2.0.jar", False)])
def test_snapshots_are_told_from_releases_by_their_file_name(name: str, snapshot: bool) -> None:
    assert jar.is_snapshot(name) is snapshot


def test_a_thin_jar_without_its_dependencies_is_refused_before_anything_runs(built_jars, tmp_path: Path) -> None:
    lonely = tmp_path / "alone" / "app.jar"
    lonely.parent.mkdir()
    lonely.write_bytes(built_jars["thin"].read_bytes())
    with pytest.raises(ConfigError) as info:
        validate(AppRequest(jar=lonely, name="orders"))
    assert str(info.value).startswith(f"{lonely} names greeting-1.0.jar, util-1.1-SNAPSHOT.jar on its manifest "
                                      "Class-Path, but they are not beside it (no target/dependency/ folder): add "
                                      "`mvn dependency:copy-dependencies -DincludeScope=runtime`")


def test_a_plain_jar_is_one_layer(built_jars, tmp_path: Path) -> None:
    info = jar.inspect(built_jars["fat"])
    assert not info.layered and info.main_class == "com.example.demo.Hello"
    plan = layout.plan(info)
    assert plan.kind == "jar" and plan.env == {}
    assert layout.materialize(plan, tmp_path / "ctx") == ["application"]
    assert (tmp_path / "ctx/application/app/app.jar").read_bytes() == built_jars["fat"].read_bytes()


def test_the_same_jar_always_gives_the_same_dockerfile_and_tag(built_jars, tmp_path: Path) -> None:
    checked = validate(AppRequest(jar=built_jars["layered"], name="orders", tracing="on", tz="Asia/Shanghai"))
    names = [s.name for s in checked.layout.layers]
    text = dockerfile("localhost/pipeyard/b2i-java:21-trixie", checked, names)
    again = validate(AppRequest(jar=built_jars["layered"], name="orders", tracing="on", tz="Asia/Shanghai"))
    assert text == dockerfile("localhost/pipeyard/b2i-java:21-trixie", again, names)
    assert text.splitlines()[2:6] == ["COPY dependencies/ /", "COPY spring-boot-loader/ /",
                                      "COPY snapshot-dependencies/ /", "COPY application/ /"]
    assert ('ENV B2I_APP_NAME="orders" B2I_TRACING="on" B2I_METRICS="on" '
            'B2I_MAIN_CLASS="org.springframework.boot.loader.launch.JarLauncher" TZ="Asia/Shanghai" '
            'B2I_APP_PORT="8080" B2I_CLASS_COUNT="3" B2I_APP_ID=') in text
    tag = content_tag(checked, "sha256:base", text)
    assert tag == content_tag(checked, "sha256:base", text) != content_tag(checked, "sha256:newbase", text)


def test_a_bad_build_request_reports_every_problem(tmp_path: Path) -> None:
    not_a_jar = tmp_path / "app.jar"
    not_a_jar.write_text("hello")
    with pytest.raises(ConfigError) as info:
        validate(AppRequest(jar=not_a_jar, name="Orders_", tz="Nowhere/City", port=70000))
    problems = info.value.problems
    assert len(problems) == 4
    assert problems[0].startswith("--name 'Orders_' is not a valid app name")
    assert "--tz 'Nowhere/City' is not a known time zone" in problems[1]
    assert "--port 70000 is not a port" in problems[2]
    assert problems[3].startswith(f"--jar {not_a_jar} is not a jar")


def test_a_jar_without_main_class_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "lib.jar"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n\r\n")
    with pytest.raises(ConfigError) as info:
        jar.inspect(path)
    assert "has no Main-Class in META-INF/MANIFEST.MF: build an executable jar" in str(info.value)


def test_pipeyard_lists_the_b2i_commands() -> None:
    from pipeyard.cli.b2i import b2i
    from pipeyard.cli.main import COMMANDS

    assert COMMANDS.get("b2i") == "pipeyard.cli.b2i:b2i", "add \"b2i\": \"pipeyard.cli.b2i:b2i\" to COMMANDS"
    assert sorted(b2i.commands) == ["base", "build", "prune"]
