"""Pushing through Harbor's /v2 as Harbor 2.10, 2.15 and main answer it: per-scope tokens, Basic
challenges, expiry, robots' rights, immutable tags, and the old client behaviour they would have caught."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeyard.images.containers.registry_server import LocalRegistry
from pipeyard.publish.archive import LayerCache
from pipeyard_kit.errors import RemoteError
from pipeyard_kit.registry import Credentials, RegistryClient, push_image
from pipeyard_kit.registry.auth import Auth
from pipeyard_kit.registry.client import ImmutableTag
from pipeyard_kit.registry.credentials import env_hint

from .fake_harbor import FakeHarbor
from .harbor_model import VERSIONS
from .imagefactory import noise
from .registry_proxy import RegistryProxy
from .test_push import build, tag_digest

REPO = "pipeyard/tool"
ROBOT_ACCESS = {("repository", "pull"), ("repository", "push"), ("artifact", "read"), ("tag", "create")}


@pytest.fixture(params=VERSIONS)
def harbor(request: pytest.FixtureRequest, registry: LocalRegistry) -> Iterator[FakeHarbor]:
    with FakeHarbor(registry=RegistryProxy(registry.address), version=request.param) as h:
        h.add_project("pipeyard")
        yield h


def robot_client(harbor: FakeHarbor, access: set[tuple[str, str]] = ROBOT_ACCESS,
                 name: str = "ci-push") -> RegistryClient:
    robot = harbor.add_robot("pipeyard", name, access)
    return RegistryClient(harbor.address, scheme="http", credentials=Credentials(robot.name, robot.secret,
                                                                                 env_hint("HARBOR")))


def writes(harbor: FakeHarbor) -> list[tuple[str, str, str, int]]:
    assert harbor.registry
    return [s for s in harbor.registry.seen if s[0] in ("POST", "PUT", "PATCH") and s[1].startswith("/v2/")]


def test_a_robot_pushes_with_a_token_per_scope(harbor: FakeHarbor, registry: LocalRegistry,
                                               cache: LayerCache) -> None:
    client = robot_client(harbor)
    image = build(cache)
    assert push_image(client, REPO, image, ["1.0.0", "latest"]) == ["1.0.0", "latest"]
    assert tag_digest(registry, REPO, "1.0.0") == image.digest
    assert harbor.registry
    granted = [(r["scopes"], r["granted"]) for r in harbor.core.tokens.requests]
    assert granted == [([f"repository:{REPO}:pull"], {REPO: ["pull"]}),
                       ([f"repository:{REPO}:pull,push"], {REPO: ["pull", "push"]})]
    # No write was ever refused: none went out with the pull token or without one.
    assert writes(harbor) and all(status != 401 and scheme == "Bearer" for _, _, scheme, status in writes(harbor))
    # Harbor's sid cookie never went back, so no write met the CSRF check.
    assert not any(status == 403 for *_, status in harbor.registry.seen)


class OldAuth(Auth):
    """The client as it was: one token per repository, preferred over Basic once it has one."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.by_repo: dict[str, str] = {}

    def headers(self, scopes: tuple[str, ...]) -> dict[str, str]:
        repo = scopes[0].split(":")[1] if scopes else ""
        if self.by_repo.get(repo):
            return {"Authorization": f"Bearer {self.by_repo[repo]}"}
        if self.basic and self.credentials:
            return {"Authorization": self._basic_value()}
        return {}

    def answer(self, response, scopes):  # type: ignore[no-untyped-def]
        from pipeyard_kit.registry.auth import Challenge

        challenge = Challenge.parse(response.headers.get("WWW-Authenticate", ""))
        sent = response.request.headers.get("Authorization", "")
        if challenge is None or challenge.scheme == "basic":
            if self.credentials and not sent.startswith("Basic"):
                self.basic = True
                return True
            return False
        token = self._fetch(challenge, challenge.scopes + scopes[1:])
        if f"Bearer {token.value}" == sent:
            return False
        self.by_repo[scopes[0].split(":")[1] if scopes else ""] = token.value
        return True


def test_the_old_one_token_per_repository_client_cannot_push(harbor: FakeHarbor, registry: LocalRegistry,
                                                              cache: LayerCache) -> None:
    client = robot_client(harbor)
    client.auth = OldAuth(client.auth.credentials, client.session)
    with pytest.raises(RemoteError) as err:
        push_image(client, REPO, build(cache), ["1.0.0"])
    assert "answered 401 Unauthorized to start upload" in str(err.value)
    assert harbor.registry
    # The HEAD got a pull-only token; the upload went out with it, and Harbor answered Basic twice.
    refused = [(m, scheme) for m, p, scheme, status in harbor.registry.seen if status == 401 and m == "POST"]
    assert refused == [("POST", "Bearer"), ("POST", "Bearer")]
    assert tag_digest(registry, REPO, "1.0.0") is None


def test_an_expired_token_is_answered_with_basic_and_the_push_completes(harbor: FakeHarbor,
                                                                         cache: LayerCache) -> None:
    client = robot_client(harbor)
    push_image(client, REPO, build(cache), ["1"])
    harbor.core.tokens.expire_all()  # Harbor's clock says the tokens are gone; the client's does not
    changed = build(cache, b"echo v2\n")
    assert push_image(client, REPO, changed, ["1"]) == ["1"]
    assert client.auth.basic, "Harbor answered Basic realm=harbor, and the client sent the robot's credentials"


def test_tokens_are_renewed_before_they_expire(registry: LocalRegistry, cache: LayerCache) -> None:
    with FakeHarbor(registry=RegistryProxy(registry.address)) as harbor:
        harbor.add_project("pipeyard")
        harbor.core.tokens.lifetime = 2.0
        client = robot_client(harbor)
        push_image(client, REPO, build(cache), ["1"])
        fetched = client.auth.fetched
        time.sleep(2.1)
        assert push_image(client, REPO, build(cache, b"echo v3\n"), ["1"]) == ["1"]
        assert client.auth.fetched > fetched and not client.auth.basic
        assert harbor.registry
        assert not [s for s in harbor.registry.seen[-12:] if s[3] == 401], "renewed before, not after, a 401"


def test_a_pull_robot_may_pull_but_not_push(harbor: FakeHarbor, registry: LocalRegistry, cache: LayerCache) -> None:
    pusher = robot_client(harbor)
    image = build(cache)
    push_image(pusher, REPO, image, ["1"])
    puller = robot_client(harbor, {("repository", "pull"), ("artifact", "read")}, name="runner-pull")
    data, _ = puller.get_manifest(REPO, "1")
    assert data == image.manifest
    with pytest.raises(RemoteError) as err:
        push_image(puller, REPO, build(cache, b"echo other\n"), ["2"])
    assert "401 Unauthorized" in str(err.value) and "check HARBOR_USERNAME" in str(err.value)
    assert tag_digest(registry, REPO, "2") is None


def test_moving_an_immutable_tag_is_refused_with_412(harbor: FakeHarbor, registry: LocalRegistry,
                                                     cache: LayerCache, tmp_path: Path) -> None:
    from pipeyard.publish.harbor import HarborClient, SecretSink, provision

    provision(HarborClient(harbor.url, Credentials("admin", "Harbor12345")), "pipeyard", SecretSink(tmp_path))
    client = robot_client(harbor, name="pusher")
    first = build(cache)
    push_image(client, REPO, first, ["1.0.0", "1"])
    assert push_image(client, REPO, first, ["1.0.0", "1"]) == [], "the same image again moves nothing"
    with pytest.raises(ImmutableTag) as err:
        push_image(client, REPO, build(cache, b"echo v2\n"), ["1", "1.0.0"])
    assert "configured as immutable" in str(err.value) and "bump the version" in str(err.value)
    assert tag_digest(registry, REPO, "1.0.0") == first.digest
    assert tag_digest(registry, REPO, "1") != first.digest, "1 is not immutable, it moved"


def test_publish_refuses_up_front_to_move_an_immutable_version(harbor: FakeHarbor, registry: LocalRegistry,
                                                               cache: LayerCache, tmp_path: Path) -> None:
    from pipeyard.publish import images as pub
    from pipeyard.publish.harbor import HarborClient, SecretSink, provision
    from pipeyard.publish.harbor.immutability import guard
    from pipeyard_kit.errors import ConfigError
    from pipeyard_kit.registry import Target

    from .imagefactory import FakeDockerClient

    admin = HarborClient(harbor.url, Credentials("admin", "Harbor12345"))
    provision(admin, "pipeyard", SecretSink(tmp_path))
    target = Target(harbor.address, "pipeyard", "http")

    def publish(app: bytes) -> list[pub.Published]:
        store = FakeDockerClient()
        store.add(pub.local_ref("tool"), [{"os.bin": noise("os", 50_000)}, {"app.sh": app}])
        client = robot_client(harbor, name=f"push-{len(harbor.robots)}")
        return pub.publish_images(store, [pub.LocalImage("tool", pub.local_ref("tool"))], target, client,
                                  ["0.4.0", "0", "abc12345"], cache=cache, echo=lambda _: None,
                                  guard=guard(admin.immutable_rules("pipeyard"), client, "pipeyard"))

    [first] = publish(b"echo v1\n")
    assert publish(b"echo v1\n")[0].moved == []
    offset = registry.log_offset()
    with pytest.raises(ConfigError) as err:
        publish(b"echo v2\n")
    assert f"Harbor keeps {REPO}:0.4.0 (now {first.digest[:19]}) immutable" in err.value.render()
    assert "nothing was pushed" in err.value.render() and "bump the version" in err.value.render()
    assert registry.blob_uploads(since=offset) == 0
    assert tag_digest(registry, REPO, "0.4.0") == first.digest


def test_anonymous_pull_of_a_private_project_is_refused(harbor: FakeHarbor, cache: LayerCache) -> None:
    push_image(robot_client(harbor), REPO, build(cache), ["1"])
    anonymous = RegistryClient(harbor.address, scheme="http", credential_hint=env_hint("HARBOR"))
    with pytest.raises(RemoteError) as err:
        anonymous.get_manifest(REPO, "1")
    assert "401" in str(err.value) and "set HARBOR_USERNAME" in str(err.value)


def test_the_catalog_needs_a_system_administrator(harbor: FakeHarbor, cache: LayerCache) -> None:
    admin = RegistryClient(harbor.address, scheme="http", credentials=Credentials("admin", "Harbor12345"))
    r = admin.request("GET", "/v2/_catalog", repo="", what="list repositories")
    assert r.status_code == 200 and admin.auth.basic
    robot = robot_client(harbor)
    with pytest.raises(RemoteError, match="401"):
        robot.request("GET", "/v2/_catalog", repo="", what="list repositories")


def test_promotion_mounts_across_projects_with_a_token_for_both(harbor: FakeHarbor, registry: LocalRegistry,
                                                                cache: LayerCache) -> None:
    """The release's promotion: blobs of pipeyard-ci/tool are mounted into pipeyard/tool, which needs
    pull,push on the target and pull on the source in one token (v2auth/access.go)."""
    from pipeyard.release.promote import ImageRecord, parse_version, promote
    from pipeyard_kit.registry import Target

    harbor.add_project("pipeyard-ci")
    harbor.add_user("release", "Release-pw1", **{"pipeyard-ci": "developer", "pipeyard": "developer"})
    client = RegistryClient(harbor.address, scheme="http", credentials=Credentials("release", "Release-pw1"))
    image = build(cache)
    push_image(client, "pipeyard-ci/tool", image, ["ci-41"])
    record = ImageRecord("tool", harbor.address, "pipeyard-ci/tool", image.digest, "ci-41", ["ci-41"])
    uploaded = client.stats.uploaded
    promote(client, Target(harbor.address, "pipeyard", "http"), [record], parse_version("1.2.3"),
            echo=lambda _: None)
    assert client.stats.uploaded == uploaded and client.stats.mounted == len(image.blobs)
    assert tag_digest(registry, "pipeyard/tool", "1.2.3") == image.digest
    mount_scopes = [r["scopes"] for r in harbor.core.tokens.requests if len(r["scopes"]) == 2]
    assert ["repository:pipeyard/tool:pull,push", "repository:pipeyard-ci/tool:pull"] in mount_scopes
    assert harbor.registry
    assert not [s for s in harbor.registry.seen if s[0] == "POST" and s[3] == 401]
