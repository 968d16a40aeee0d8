"""Helpers that run inside the provider images, at job start.

ca_certs.install_custom_ca()  CUSTOM_CA_CERTS -> a user-writable CA bundle, with SSL_CERT_FILE,
                              REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE and NODE_EXTRA_CA_CERTS exported;
ca_certs.java_truststore()    the same certificates as a JVM truststore (-Djavax.net.ssl.trustStore);
ca_env                        `python3 -m pipeyard.runtime.ca_env` prints the exports for shell wrappers.

Only the Debian-packaged runtime libraries may be imported here: the images have no docker package.
"""

from .ca_certs import CaBundle, JavaTrust, install_custom_ca, java_truststore

__all__ = ["CaBundle", "JavaTrust", "install_custom_ca", "java_truststore"]
