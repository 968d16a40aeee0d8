"""Maven proxies from the standard proxy variables.

Java ignores http_proxy and friends, so settings.xml has to carry them. The
lower-case names win, as in curl; no_proxy entries become Java's nonProxyHosts
patterns (`example.com` also covers its subdomains, as curl reads it).
"""

from __future__ import annotations

import re
from collections import namedtuple
from collections.abc import Mapping

NAMES = ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")


# A named tuple, not a dataclass (see settings_xml): username and password may be None.
Proxy = namedtuple("Proxy", "id protocol host port username password non_proxy_hosts")


def _masked(value: str) -> str:
    """The URL as it may be shown: without the proxy password."""
    return re.sub(r"(//[^:/@]+):[^@/]*@", r"\1:****@", value)


def non_proxy_hosts(no_proxy: str) -> str:
    if not no_proxy.strip():
        return ""
    import ipaddress  # only with a no_proxy: the first mvn of a job without one does not wait for it

    patterns: list[str] = []
    for entry in re.split(r"[,\s]+", no_proxy):
        host = entry.strip().strip("[]")
        if not host:
            continue
        if host == "*":
            patterns.append("*")
            continue
        try:
            ipaddress.ip_network(host, strict=False)
            is_ip = True
        except ValueError:
            is_ip = False
        if is_ip:
            # Java matches addresses literally: a CIDR range has no equivalent.
            if "/" not in host:
                patterns.append(host)
            continue
        host = host.rsplit(":", 1)[0] if re.search(r":\d+$", host) else host
        bare = host.lstrip("*").lstrip(".")
        if bare:
            patterns.extend([bare, f"*.{bare}"])
    return "|".join(dict.fromkeys(patterns))


def from_env(env: Mapping[str, str], problems: list[str]) -> list[Proxy]:
    no_proxy = env.get("no_proxy") or env.get("NO_PROXY") or ""
    hosts = non_proxy_hosts(no_proxy)
    proxies = []
    for protocol in ("http", "https"):
        name = f"{protocol}_proxy"
        if not env.get(name) and env.get(name.upper()):
            name = name.upper()
        value = env.get(name, "").strip()
        if not value:
            continue
        # Here, not at the top: most jobs set no proxy, and their first mvn need not wait for urllib's import.
        from urllib.parse import unquote, urlsplit

        parts = urlsplit(value if "://" in value else f"http://{value}")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            port = None
        if not parts.hostname or port is None:
            problems.append(f"{name}={_masked(value)!r} is not a proxy URL: use e.g. http://proxy.example.com:3128")
            continue
        proxies.append(Proxy(id=f"pipeyard-{protocol}-proxy", protocol=protocol, host=parts.hostname, port=port,
                             username=unquote(parts.username) if parts.username else None,
                             password=unquote(parts.password) if parts.password else None,
                             non_proxy_hosts=hosts))
    return proxies
