"""The release job's calls, against servers that follow the real APIs: promotion by digest against a real
registry (docker-registry, and Harbor's token auth), the catalog release against GitLab's REST API, and
the Harbor policies against Harbor's v2.0 API."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeyard.images.containers.registry_server import LocalRegistry
from pipeyard.publish.harbor import HarborClient
from pipeyard.release.catalog import commit_actions, git_blob_sha, publish_catalog
from pipeyard.release.promote import (
    ImageRecord,
    apply_policies,
    parse_version,
    promote,
    read_records,
    release_version,
)
from pipeyard_kit import __version__
from pipeyard_kit.errors import ConfigError, RemoteError, UsageError
from pipeyard_kit.registry import Credentials, RegistryClient, Target, push_image
from pipeyard_kit.registry.oci import OCI_CONFIG, OCI_LAYER_GZIP, Blob, OciImage, sha256_digest
from tests.fixtures import ROOT, free_port
from tests.publish.fake_harbor import FakeHarbor
from tests.publish.registry_proxy import RegistryProxy

from .conftest import TOKEN, ComponentProject, selfci

HARBOR_USER, HARBOR_PASSWORD = "admin", "Harbor12345-Secret"


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPEYARD_RETRIES", "2")
    monkeypatch.setenv("PIPEYARD_RETRY_BACKOFF", "0.01")


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[LocalRegistry]:
    with LocalRegistry(tmp_path / "registry", port=free_port()) as reg:
        yield reg


def small_image(seed: str) -> OciImage:
    layer = gzip.compress(f"layer of {seed}\n".encode() * 50, mtime=0)
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"User": "10001"},
                         "rootfs": {"type": "layers", "diff_ids": [sha256_digest(gzip.decompress(layer))]}},
                        sort_keys=True).encode()
    return OciImage.assemble(Blob(sha256_digest(config), len(config), OCI_CONFIG, data=config),
                             [Blob(sha256_digest(layer), len(layer), OCI_LAYER_GZIP, data=layer)])


def pushed(client: RegistryClient, host: str, repo: str, provider: str, tag: str = "ci-41") -> ImageRecord:
    image = small_image(provider)
    push_image(client, repo, image, [tag])
    return ImageRecord(provider, host, repo, image.digest, tag, [tag])


# -- versions ---------------------------------------------------------------------------------------
def test_versions_and_their_tags():
    assert parse_version("v1.4.2").tags == ["1.4.2", "1", "1.4"]
    assert parse_version("1.4.2").tags == ["1.4.2", "1", "1.4"]
    assert parse_version("2.0.0-rc.1").tags == ["2.0.0-rc.1"]
    with pytest.raises(UsageError, match="not a semantic version"):
        parse_version("release-5")


def test_the_tag_must_be_the_version_the_templates_pin():
    assert release_version(f"v{__version__}").text == __version__
    with pytest.raises(ConfigError) as err:
        release_version("v9.9.9")
    assert "pyproject.toml" in err.value.render() and "make render" in err.value.render()


# -- promotion ------------------------------------------------------------------------------------
def test_promote_tags_the_tested_digest_and_uploads_nothing(registry: LocalRegistry):
    client = RegistryClient(registry.address, scheme="http")
    target = Target(registry.address, "pipeyard", "http")
    records = [pushed(client, registry.address, "pipeyard/npm", "npm"),
               pushed(client, registry.address, "pipeyard/maven", "maven")]
    offset = registry.log_offset()
    before = (client.stats.uploaded, client.stats.mounted)
    lines: list[str] = []
    result = promote(client, target, records, parse_version("v1.4.2"), echo=lines.append)
    assert (client.stats.uploaded, client.stats.mounted) == before
    assert registry.blob_uploads(offset) == 0
    for record, promoted in zip(records, result, strict=True):
        assert promoted.moved == ["1.4.2", "1", "1.4"]
        for tag in ("1.4.2", "1", "1.4", "ci-41"):
            assert client.manifest_digest(record.repository, tag) == record.digest
    assert "tagged 1.4.2, 1, 1.4" in lines[0]
    again = promote(client, target, records, parse_version("v1.4.2"), echo=lines.append)
    assert [p.moved for p in again] == [[], []]
    assert "already there" in lines[-1]


def test_promote_moves_minor_and_major_to_the_newer_patch(registry: LocalRegistry):
    client = RegistryClient(registry.address, scheme="http")
    target = Target(registry.address, "pipeyard", "http")
    old = pushed(client, registry.address, "pipeyard/npm", "npm-old", "ci-40")
    promote(client, target, [old], parse_version("1.4.1"), echo=lambda _: None)
    new = pushed(client, registry.address, "pipeyard/npm", "npm-new", "ci-41")
    result = promote(client, target, [new], parse_version("1.4.2"), echo=lambda _: None)
    assert result[0].moved == ["1.4.2", "1", "1.4"]
    assert client.manifest_digest("pipeyard/npm", "1.4.1") == old.digest
    assert client.manifest_digest("pipeyard/npm", "1") == new.digest


def test_promote_into_another_project_mounts_the_blobs(registry: LocalRegistry):
    client = RegistryClient(registry.address, scheme="http")
    record = pushed(client, registry.address, "pipeyard-ci/npm", "npm")
    uploaded = client.stats.uploaded
    promote(client, Target(registry.address, "pipeyard", "http"), [record], parse_version("1.0.0"),
            echo=lambda _: None)
    assert client.stats.uploaded == uploaded
    assert client.stats.mounted == 2
    assert client.manifest_digest("pipeyard/npm", "1.0.0") == record.digest


def test_promote_refuses_another_registry(registry: LocalRegistry):
    client = RegistryClient(registry.address, scheme="http")
    record = pushed(client, registry.address, "pipeyard/npm", "npm")
    with pytest.raises(UsageError, match="not to harbor.example.com"):
        promote(client, Target("harbor.example.com", "pipeyard", "https"), [record], parse_version("1.0.0"))


def test_promote_through_harbors_token_auth(registry: LocalRegistry):
    users = {HARBOR_USER: HARBOR_PASSWORD}
    with FakeHarbor(users={HARBOR_USER: (HARBOR_PASSWORD, True)},
                    registry=RegistryProxy(registry.address, users=users)) as harbor:
        harbor.add_project("pipeyard", owner=HARBOR_USER)
        client = RegistryClient(harbor.address, scheme="http", credentials=Credentials(HARBOR_USER, HARBOR_PASSWORD))
        record = pushed(client, harbor.address, "pipeyard/sonar", "sonar")
        promote(client, Target(harbor.address, "pipeyard", "http"), [record], parse_version("1.0.0"),
                echo=lambda _: None)
        assert client.manifest_digest("pipeyard/sonar", "1.0") == record.digest


def test_digest_records_round_trip(tmp_path: Path):
    record = ImageRecord("npm", "harbor.example.com", "pipeyard/npm", "sha256:" + "a" * 64, "ci-9", ["ci-9"])
    record.write(tmp_path)
    assert read_records(tmp_path) == [record]
    with pytest.raises(ConfigError, match="no digest record for maven"):
        read_records(tmp_path, ["npm", "maven"])
    with pytest.raises(ConfigError, match="no digest records"):
        read_records(tmp_path / "missing")


def test_the_promote_command_end_to_end(registry: LocalRegistry, tmp_path: Path):
    client = RegistryClient(registry.address, scheme="http")
    pushed(client, registry.address, "pipeyard/npm", "npm").write(tmp_path / "digests")
    out = selfci("release", "promote", "--registry", f"{registry.address}/pipeyard", "--digests",
                 str(tmp_path / "digests"), "--version", f"v{__version__}")
    assert out.returncode == 0, out.stderr
    assert "promoted 1 images" in out.stdout and "0 blobs uploaded" in out.stdout
    release = json.loads((tmp_path / "digests" / "release.json").read_text())
    assert release["version"] == __version__ and release["images"][0]["provider"] == "npm"
    wrong = selfci("release", "promote", "--registry", f"{registry.address}/pipeyard", "--digests",
                   str(tmp_path / "digests"), "--version", "v7.0.0")
    assert wrong.returncode == 1
    assert wrong.stderr.startswith("error: tag v7.0.0 releases 7.0.0") and "Traceback" not in wrong.stderr


# -- the CI/CD catalog release -------------------------------------------------------------------------
def templates_dir(tmp_path: Path) -> Path:
    root = tmp_path / "pipeline-templates"
    (root / "templates").mkdir(parents=True)
    (root / "templates" / "npm.yml").write_text("spec:\n  inputs: {}\n---\nnpm-build:\n  script: [npm ci]\n")
    (root / "templates" / "maven.yml").write_text("spec:\n  inputs: {}\n---\nmaven-build:\n  script: [mvn]\n")
    (root / "README.md").write_text("old readme\n")
    return root


def test_commit_actions_are_computed_from_git_blob_ids():
    files = {"README.md": b"same\n", "templates/a.yml": b"new\n", "templates/b.yml": b"changed\n"}
    tree = [{"type": "blob", "path": "README.md", "id": git_blob_sha(b"same\n")},
            {"type": "blob", "path": "templates/b.yml", "id": git_blob_sha(b"before\n")},
            {"type": "blob", "path": "templates/gone.yml", "id": git_blob_sha(b"x")},
            {"type": "blob", "path": ".gitlab-ci.yml", "id": git_blob_sha(b"release: job\n")},
            {"type": "blob", "path": "CONTRIBUTING.md", "id": git_blob_sha(b"ours\n")},
            {"type": "tree", "path": "templates", "id": "0" * 40}]
    actions = commit_actions(files, tree)
    # Stale components go; the project's own files (its pipeline above all) never do.
    assert [(a["action"], a["file_path"]) for a in actions] == [
        ("create", "templates/a.yml"), ("update", "templates/b.yml"), ("delete", "templates/gone.yml")]
    # git's own id for "hello\n"
    assert git_blob_sha(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"


def gl_client(url: str, token: str = TOKEN):
    import gitlab

    return gitlab.Gitlab(url, private_token=token, retry_transient_errors=False)


def catalog(gitlab, templates: Path, version: str = "1.0.0", lines: list[str] | None = None, **kw):
    kw.setdefault("wait", 10)
    kw.setdefault("poll", 0.05)
    return publish_catalog(gl_client(gitlab.url), "platform/pipeyard", parse_version(version), templates,
                           notes=f"pipeyard {version}\n", echo=(lines if lines is not None else []).append, **kw)


def test_the_tag_pipelines_release_job_publishes_the_catalog_version(gitlab, component_project: ComponentProject,
                                                                      tmp_path: Path):
    templates = templates_dir(tmp_path)
    lines: list[str] = []
    result = catalog(gitlab, templates, lines=lines)
    assert result.release == "published" and result.changed_files == 4
    commit = component_project.commits[0]
    assert commit["branch"] == "main"
    assert sorted((a["action"], a["file_path"]) for a in commit["actions"]) == [
        ("create", ".gitlab-ci.yml"), ("create", "templates/maven.yml"), ("create", "templates/npm.yml"),
        ("delete", "templates/old.yml")]
    # An annotated tag, its message the release notes, on the templates' commit.
    tag_call = next(r for r in gitlab.requests if r.method == "POST" and r.path.endswith("/repository/tags"))
    assert tag_call.body == {"tag_name": "1.0.0", "ref": component_project.branches["main"],
                             "message": "pipeyard 1.0.0\n"}
    # pipeyard never created the release: the release job did, with its job token, and published it.
    assert not [r for r in gitlab.requests if r.method == "POST" and r.path.endswith("/releases")
                and r.identity == "token"]
    assert component_project.releases["1.0.0"]["author"] == "job:platform/pipeyard"
    assert component_project.releases["1.0.0"]["description"] == "pipeyard 1.0.0\n"
    [version] = component_project.catalog
    assert (version.version, version.components, version.published_by) == ("1.0.0", ["maven", "npm"],
                                                                            "job:platform/pipeyard")
    assert component_project.pipelines[0]["jobs"][0]["publish"] == 200
    assert "released by the project's release job" in lines[0]

    # A retried job: the release exists; nothing is written.
    writes = len([r for r in gitlab.requests if r.method in ("POST", "PUT")])
    again = catalog(gitlab, templates, lines=lines)
    assert again.release == "exists" and again.changed_files == 0
    assert len([r for r in gitlab.requests if r.method in ("POST", "PUT")]) == writes


def test_the_release_job_is_a_valid_gitlab_pipeline(gitlab, component_project, tmp_path: Path):
    import yaml

    from pipeyard.check.schema import schema_problems

    catalog(gitlab, templates_dir(tmp_path))
    doc = yaml.safe_load(component_project.files[".gitlab-ci.yml"])
    assert schema_problems(doc) == []
    assert doc["catalog-release"]["release"]["tag_name"] == "$CI_COMMIT_TAG"


def test_a_release_through_the_releases_api_publishes_no_catalog_version(gitlab, component_project, tmp_path: Path):
    """What the catalog release did before: commit, then POST /releases with the access token. On a GitLab
    where API releases no longer publish, the catalog never gets the version; only where they still do
    (older GitLab) does it."""
    gl = gl_client(gitlab.url).projects.get("platform/pipeyard")
    gl.releases.create({"tag_name": "1.0.0", "ref": "main", "name": "pipeyard 1.0.0", "description": "n"})
    assert "1.0.0" in component_project.releases and component_project.catalog == []
    component_project.api_release_publishes = True
    gl.releases.create({"tag_name": "2.0.0", "ref": "main", "name": "pipeyard 2.0.0", "description": "n"})
    assert [v.version for v in component_project.catalog] == ["2.0.0"]


def test_the_projects_own_pipeline_and_files_are_kept(gitlab, component_project: ComponentProject, tmp_path: Path):
    own = b"build-docs:\n  script: [make docs]\nrelease-it:\n  script: [echo]\n  rules: [{if: $CI_COMMIT_TAG}]\n" \
          b"  release: {tag_name: $CI_COMMIT_TAG, description: $CI_COMMIT_TAG_MESSAGE}\n"
    component_project.files = {**component_project.files, ".gitlab-ci.yml": own, "CONTRIBUTING.md": b"ours\n"}
    result = catalog(gitlab, templates_dir(tmp_path))
    assert result.release == "published"
    assert component_project.files[".gitlab-ci.yml"] == own
    assert component_project.files["CONTRIBUTING.md"] == b"ours\n"
    assert component_project.catalog[0].published_by == "job:platform/pipeyard"


def test_a_pipeline_without_a_release_job_is_refused_before_anything_is_written(gitlab, component_project,
                                                                                 tmp_path: Path):
    component_project.files = {**component_project.files, ".gitlab-ci.yml": b"lint:\n  script: [yamllint .]\n"}
    with pytest.raises(ConfigError) as err:
        catalog(gitlab, templates_dir(tmp_path))
    assert "has no job with `release:`" in err.value.render() and "--show-release-job" in err.value.render()
    assert not [r for r in gitlab.requests if r.method in ("POST", "PUT")]


def test_a_project_without_a_description_is_refused(gitlab, component_project, tmp_path: Path):
    component_project.description = ""
    with pytest.raises(ConfigError, match="has no description"):
        catalog(gitlab, templates_dir(tmp_path))
    assert not [r for r in gitlab.requests if r.method in ("POST", "PUT")]


def test_a_tag_pipeline_that_does_not_release_is_reported(gitlab, component_project, tmp_path: Path):
    manual = b"release-by-hand:\n  script: [echo]\n  rules: [{if: $RELEASE_NOW}]\n" \
             b"  release: {tag_name: $CI_COMMIT_TAG, description: x}\n"
    component_project.files = {**component_project.files, ".gitlab-ci.yml": manual}
    with pytest.raises(RemoteError) as err:
        catalog(gitlab, templates_dir(tmp_path), wait=0.3)
    assert "has not released 1.0.0 after 0.3 s" in err.value.render()
    assert "/-/pipelines?ref=1.0.0" in err.value.render()
    assert component_project.catalog == [] and "1.0.0" in component_project.tags


def test_a_marked_pipeline_file_is_pipeyards_to_rewrite(gitlab, component_project, tmp_path: Path):
    component_project.files = {**component_project.files,
                               ".gitlab-ci.yml": b"# pipeyard:catalog-release\nold: {script: [echo]}\n"}
    result = catalog(gitlab, templates_dir(tmp_path), release_image="harbor.example.com/gitlab/cli:v1")
    assert result.release == "published"
    assert b"image: harbor.example.com/gitlab/cli:v1" in component_project.files[".gitlab-ci.yml"]


def test_unchanged_templates_release_the_head_without_a_commit(gitlab, component_project: ComponentProject,
                                                                tmp_path: Path):
    from pipeyard.release.catalog import PIPELINE_FILE, release_pipeline

    templates = templates_dir(tmp_path)
    component_project.files = {str(p.relative_to(templates)): p.read_bytes()
                               for p in templates.rglob("*") if p.is_file()}
    component_project.files[PIPELINE_FILE] = release_pipeline().encode()
    component_project.snapshots[component_project.branches["main"]] = component_project.files
    result = catalog(gitlab, templates, version="2.0.0")
    assert result.changed_files == 0 and component_project.commits == []
    assert component_project.releases["2.0.0"]["commit"]["id"] == component_project.branches["main"]


def test_a_refused_token_is_one_clear_message(gitlab, component_project, tmp_path: Path):
    with pytest.raises(ConfigError) as err:
        publish_catalog(gl_client(gitlab.url, "glpat-wrong-Secret"), "platform/pipeyard", parse_version("1.0.0"),
                        templates_dir(tmp_path), notes="n\n", echo=lambda _: None)
    assert "refused PIPEYARD_GITLAB_TOKEN (401)" in err.value.render()
    assert "glpat-wrong-Secret" not in err.value.render()


def test_the_catalog_command_end_to_end(gitlab, component_project: ComponentProject, tmp_path: Path):
    digests = tmp_path / "digests"
    digests.mkdir()
    (digests / "release.json").write_text(json.dumps({"version": __version__, "images": [
        {"provider": "npm", "reference": "harbor.example.com/pipeyard/npm", "digest": "sha256:" + "b" * 64,
         "tags": [__version__]}]}))
    env = {"PIPEYARD_GITLAB_TOKEN": TOKEN, "CI_SERVER_URL": gitlab.url, "CI_COMMIT_TAG": f"v{__version__}",
           "PIPEYARD_COMPONENT_PROJECT": "platform/pipeyard"}
    out = selfci("release", "catalog", "--digests", str(digests), "--wait", "10", env=env)
    assert out.returncode == 0, out.stderr
    assert f"catalog release {__version__} of platform/pipeyard: released by the project's release job" in out.stdout
    committed = {a["file_path"] for a in component_project.commits[0]["actions"]}
    rendered = {str(p.relative_to(ROOT / "pipeline-templates")) for p in (ROOT / "pipeline-templates").rglob("*")
                if p.is_file()}
    assert rendered <= committed | {"README.md"} and ".gitlab-ci.yml" in committed
    notes = component_project.releases[__version__]["description"]
    assert f"platform/pipeyard/npm@{__version__}`" in notes
    assert f"harbor.example.com/pipeyard/npm:{__version__}@sha256:{'b' * 64}" in notes
    assert {c for v in component_project.catalog for c in v.components} >= {"maven", "npm", "sonar"}
    assert TOKEN not in out.stdout + out.stderr
    missing = selfci("release", "catalog", env={**env, "PIPEYARD_GITLAB_TOKEN": ""})
    assert missing.returncode == 1
    assert "PIPEYARD_GITLAB_TOKEN is not set" in missing.stderr
    shown = selfci("release", "catalog", "--show-release-job", "--release-image", "harbor.example.com/gl/cli:v1")
    assert shown.returncode == 0 and "image: harbor.example.com/gl/cli:v1" in shown.stdout


# -- Harbor -------------------------------------------------------------------------------------------
@pytest.fixture
def harbor() -> Iterator[FakeHarbor]:
    with FakeHarbor(users={HARBOR_USER: (HARBOR_PASSWORD, True), "dev": ("dev-pw", False)}) as h:
        yield h


def test_the_harbor_policies_are_applied_once(harbor: FakeHarbor):
    harbor.add_project("pipeyard")
    client = HarborClient(harbor.url, Credentials(HARBOR_USER, HARBOR_PASSWORD))
    summary = apply_policies(client, "pipeyard")
    assert [(c.item, c.action) for c in summary.changes] == [
        ("tag retention", "created"), ("immutable release tags", "created"), ("gc schedule", "created")]
    project_id = harbor.projects["pipeyard"]["project_id"]
    policy = harbor.retentions[int(harbor.projects["pipeyard"]["metadata"]["retention_id"])]
    assert policy["scope"] == {"level": "project", "ref": project_id}
    assert harbor.immutable[project_id][0]["tag_selectors"][0]["pattern"] == "{v*,[0-9]*.[0-9]*.[0-9]*}"
    assert json.loads(harbor.gc["job_parameters"])["delete_untagged"] is True
    assert not [c for c in harbor.calls if c.path == "/robots" and c.method == "POST"]
    writes = len(harbor.writes())
    again = apply_policies(client, "pipeyard")
    assert not again.changed and len(harbor.writes()) == writes
    assert again.lines()[-1] == "  nothing changed"


def test_a_missing_project_says_how_to_create_it(harbor: FakeHarbor):
    client = HarborClient(harbor.url, Credentials(HARBOR_USER, HARBOR_PASSWORD))
    with pytest.raises(ConfigError) as err:
        apply_policies(client, "pipeyard")
    assert "--setup-only" in err.value.render()
    assert not harbor.writes()


def test_the_harbor_command_end_to_end(harbor: FakeHarbor):
    harbor.add_project("pipeyard", members={"dev": "projectAdmin"})
    env = {"HARBOR_URL": harbor.url, "HARBOR_USERNAME": "dev", "HARBOR_PASSWORD": "dev-pw",
           "PIPEYARD_REGISTRY": f"{harbor.address}/pipeyard"}
    out = selfci("release", "harbor", env=env)
    assert out.returncode == 0, out.stderr
    # A project admin who is not a system admin: the policies are set, the GC step is skipped with the reason.
    assert "tag retention" in out.stdout and "created" in out.stdout
    assert "gc schedule" in out.stdout and "not a Harbor system administrator" in out.stdout
    bad = selfci("release", "harbor", env={**env, "HARBOR_PASSWORD": "wrong-Secret-pw"})
    assert bad.returncode == 1
    assert "refused the login of HARBOR_USERNAME=dev" in bad.stderr
    assert "wrong-Secret-pw" not in bad.stdout + bad.stderr and "Traceback" not in bad.stderr


def test_bad_input_fails_before_any_server_is_called(tmp_path: Path):
    bad_tag = selfci("release", "push", "npm", "--registry", "127.0.0.1:9/pipeyard", "--tag", "ci 41")
    assert bad_tag.returncode == 2 and "--tag 'ci 41' is not a valid image tag" in bad_tag.stderr
    local = selfci("release", "bases", "trixie", "--registry", "localhost/pipeyard")
    assert local.returncode == 1 and "is the local image store, not a registry" in local.stderr
    no_records = selfci("release", "promote", "--registry", "127.0.0.1:9/pipeyard", "--digests",
                        str(tmp_path / "none"), "--version", f"v{__version__}")
    assert no_records.returncode == 1 and "no digest records" in no_records.stderr
    not_semver = selfci("release", "promote", "--registry", "127.0.0.1:9/pipeyard", "--version", "latest")
    assert not_semver.returncode == 2 and "is not a semantic version" in not_semver.stderr
    for out in (bad_tag, local, no_records, not_semver):
        assert "Traceback" not in out.stderr and out.stderr.count("\n") == 1
