"""Harbor v2.0: the project, robot accounts, retention, immutability and GC that pipeyard manages."""

from .client import HarborClient, HarborForbidden
from .policies import validate_project_name
from .provision import SecretSink, Summary, provision

__all__ = ["HarborClient", "HarborForbidden", "SecretSink", "Summary", "provision", "validate_project_name"]
