"""pipeyard-kit: the only shared code inside pipeyard's images.

Every provider image installs this kit and its own provider package, nothing else of
pipeyard. The kit imports nothing of pipeyard (`make check` holds it to that), so the
platform SDK never ships in an image.
"""

# The one version of pipeyard: the platform, the kit and every provider are released together.
__version__ = "1.0.0"
