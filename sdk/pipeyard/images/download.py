"""Downloads pinned by checksum: the kit's implementation (pipeyard_kit.download), which the images
use too, under the name the platform has always imported."""

from pipeyard_kit.download import CHUNK, fetch, sha256_of, verify

__all__ = ["CHUNK", "fetch", "sha256_of", "verify"]
