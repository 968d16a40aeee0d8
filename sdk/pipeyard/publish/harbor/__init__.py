"""Harbor v2.0: the project, robot accounts, retention, immutability and GC that pipeyard manages."""

from pipeyard.publish.harbor.client import HarborClient, HarborForbidden
from pipeyard.publish.harbor.policies import validate_project_name
from pipeyard.publish.harbor.provision import SecretSink, Summary, provision

__all__ = ["HarborClient", "HarborForbidden", "SecretSink", "Summary", "provision", "validate_project_name"]
