"""The Maven mirror stand-in (a Nexus group over HTTP, the demo's own: pipeyard.demo.maven_repo) and
Debian's Maven repository it serves from. Provider tests reach the platform only through tests/: a
provider folder imports the kit alone (tests/layout checks it)."""

from pipeyard.demo.maven_repo import DEBIAN_REPO, MavenRepoServer

__all__ = ["DEBIAN_REPO", "MavenRepoServer"]
