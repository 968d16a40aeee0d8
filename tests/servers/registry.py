"""A real OCI registry on loopback (Debian's docker-registry, as the embedded one runs it) and an
htpasswd for its Basic auth, for provider tests, which reach the platform only through tests/."""

from pipeyard.images.containers.registry_server import LocalRegistry, write_htpasswd

__all__ = ["LocalRegistry", "write_htpasswd"]
