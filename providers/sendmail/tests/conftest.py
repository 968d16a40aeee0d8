"""pytest finds the fixtures and hooks of the sendmail provider's tests here; they live beside their
helpers in sendmail_support.py, which the tests import by name (this folder is no package)."""

from sendmail_support import gitlab_stub, smtp_server, sonar, tls_cert  # noqa: F401
