"""provider.yaml is validated with one message naming the file, the key and the fix."""

from __future__ import annotations

import pytest

from pipeyard.model.provider import load_provider, load_providers, missing_skeleton, provider_names
from pipeyard_kit.errors import ModelError, UsageError
from tests.fixtures import ROOT, run_cli
from tests.model.provider_edits import edit_provider


def test_every_provider_loads_and_names_its_folder():
    providers = load_providers(ROOT)
    assert [p.name for p in providers] == provider_names(ROOT)
    assert {"maven", "npm", "sonar", "sendmail", "chrome-headless"} <= set(provider_names(ROOT))
    for p in providers:
        assert p.jobs and p.settings and p.image_name


@pytest.mark.parametrize("change, expected", [
    (lambda d: d.pop("image"), "missing required key 'image': add it"),
    (lambda d: d["jobs"]["build"].update(scirpt=["x"]), "jobs.build: unknown key 'scirpt'"),
    (lambda d: d["jobs"]["build"].update(when="sometimes"), "'sometimes' is not allowed: use one of default, release"),
    (lambda d: d["settings"][0].update(env="maven-mirror"), "settings[0].env: 'maven-mirror' does not match"),
    (lambda d: d["settings"].append({"env": "MAVEN_X_PASSWORD", "type": "string", "secret": True, "input": "x",
                                     "description": "a secret input"}), "a secret setting takes no input"),
    (lambda d: d.update(name="mvn"), "name: 'mvn' differs from its folder 'maven': make them equal"),
    (lambda d: d["settings"].append(dict(d["settings"][0])), "MAVEN_MIRROR_URL is declared twice: keep one"),
    (lambda d: d["image"].update(env={"MAVEN_MIRROR_URL": "https://x"}),
     "image.env.MAVEN_MIRROR_URL is a setting, and ENV would hide its site default: give MAVEN_MIRROR_URL a "
     "default under settings instead"),
    (lambda d: d["image"].update(env={"NEXUS_TOKEN": "abc"}),
     "image.env.NEXUS_TOKEN looks like a secret, and image layers are readable by anyone who can pull the image: "
     "pass it as a CI/CD variable at run time"),
    (lambda d: d["image"].update(env={"MAVEN_OPTS": "-Dx=$HOME"}), "image.env.MAVEN_OPTS: '-Dx=$HOME' does not match"),
    (lambda d: d["image"].update(warm_up={"dirs": ["relative/dir"], "run": ["true"]}),
     "image.warm_up.dirs[0]: 'relative/dir' does not match"),
    (lambda d: d["image"].update(warm_up={"dirs": ["/var/cache/x"]}), "image.warm_up: missing required key 'run'"),
])
def test_malformed_provider_yaml_gets_one_clear_message(scratch_repo, change, expected):
    path = edit_provider(scratch_repo, "maven", change)
    with pytest.raises(ModelError) as err:
        load_provider(scratch_repo, "maven")
    message = err.value.render()
    assert str(path) in message
    assert expected in message
    assert "\n" not in message


def test_broken_yaml_names_the_line(scratch_repo):
    path = scratch_repo / "providers" / "npm" / "provider.yaml"
    path.write_text(path.read_text() + "\n  bad: [unclosed\n")
    with pytest.raises(ModelError, match=r"provider.yaml:\d+:\d+: not valid YAML"):
        load_provider(scratch_repo, "npm")


def test_unknown_provider_lists_the_known_ones():
    with pytest.raises(UsageError) as err:
        load_provider(ROOT, "gradle")
    assert "unknown provider 'gradle'" in err.value.render()
    assert "maven" in err.value.render() and err.value.exit_code == 2


def test_make_check_fails_on_a_wrong_file_with_one_message_and_no_traceback(scratch_repo):
    edit_provider(scratch_repo, "sonar", lambda d: d["jobs"]["scan"].update(stage="Test Stage"))
    out = run_cli("pipeyard", "check", cwd=scratch_repo)
    assert out.returncode == 1
    assert "providers/sonar/provider.yaml: jobs.scan.stage: 'Test Stage' does not match" in out.stderr
    assert "Traceback" not in out.stderr + out.stdout


def test_meta_every_provider_folder_has_the_skeleton():
    for folder in sorted(p for p in (ROOT / "providers").iterdir() if p.is_dir()):
        missing = missing_skeleton(folder)
        assert not missing, f"providers/{folder.name} lacks {', '.join(missing)}: copy them from providers/maven"


def test_meta_check_names_a_missing_skeleton_file(scratch_repo):
    (scratch_repo / "providers" / "npm" / "README.md").unlink()
    out = run_cli("pipeyard", "check", cwd=scratch_repo)
    assert out.returncode == 1
    assert "providers/npm lacks README.md" in out.stderr
