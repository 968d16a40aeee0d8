"""The Debian releases pipeyard builds its bases on: light enough for a command line to check against."""

RELEASES = ("trixie", "bookworm")  # Debian 13, Debian 12
DEFAULT_RELEASE = "trixie"
