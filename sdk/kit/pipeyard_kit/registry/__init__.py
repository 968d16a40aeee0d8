"""An OCI distribution client on requests: pull and push by digest, tag last, skip and mount blobs.

In the kit because images need it too (the B2I builder pushes app images from a job); the
platform's publish, mirror, release and bundle commands use the same client.
"""

from pipeyard_kit.registry.client import PushStats, RegistryClient
from pipeyard_kit.registry.credentials import Credentials
from pipeyard_kit.registry.oci import Blob, OciImage
from pipeyard_kit.registry.push import push_image
from pipeyard_kit.registry.reference import Reference, Target
from pipeyard_kit.registry.retry import RetryPolicy

__all__ = ["Blob", "Credentials", "OciImage", "PushStats", "Reference", "RegistryClient", "RetryPolicy", "Target",
           "push_image"]
