"""An OCI distribution client on requests: push by digest, tag last, skip and mount blobs."""

from pipeyard.publish.registry.archive import LayerCache, oci_image
from pipeyard.publish.registry.client import PushStats, RegistryClient
from pipeyard.publish.registry.credentials import Credentials
from pipeyard.publish.registry.oci import Blob, OciImage
from pipeyard.publish.registry.push import push_image
from pipeyard.publish.registry.reference import Reference, Target
from pipeyard.publish.registry.retry import RetryPolicy

__all__ = [
    "Blob", "Credentials", "LayerCache", "OciImage", "PushStats", "Reference", "RegistryClient",
    "RetryPolicy", "Target", "oci_image", "push_image",
]
