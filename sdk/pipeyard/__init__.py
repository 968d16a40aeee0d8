"""pipeyard: GitLab CI provider images and the include templates that use them."""

__version__ = "1.0.0"
