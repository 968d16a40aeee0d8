"""Building pipeyard's images: the Debian base, the provider images, and pinned downloads.

    fetch(url, sha256, dest) / verify(path, sha256)   downloads pinned by checksum
                                                       (ChecksumError names file and digests)
    base.bootstrap(...)                                `pipeyard base bootstrap`
    build.build_images(...)                            `pipeyard build`

Only `download` is light; the rest needs the platform extra (docker) and is imported on use.
"""

from pipeyard.images.download import fetch, sha256_of, verify

__all__ = ["fetch", "sha256_of", "verify"]
