"""An OCI distribution client on requests: push by digest, tag last, skip and mount blobs."""

from .archive import LayerCache, oci_image
from .client import PushStats, RegistryClient
from .credentials import Credentials
from .oci import Blob, OciImage
from .push import push_image
from .reference import Reference, Target
from .retry import RetryPolicy

__all__ = [
    "Blob", "Credentials", "LayerCache", "OciImage", "PushStats", "Reference", "RegistryClient",
    "RetryPolicy", "Target", "oci_image", "push_image",
]
