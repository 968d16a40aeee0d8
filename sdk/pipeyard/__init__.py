"""pipeyard: the platform that renders, checks, builds, publishes and releases the provider images
and their GitLab templates. It is never installed in an image: the images carry pipeyard-kit and
their own provider package only."""

from pipeyard_kit import __version__

__all__ = ["__version__"]
