"""Salesforce host names: which ones the sandbox answers for, and the instance a login lands on.

Clients log in at ``login.salesforce.com`` (production and developer orgs), ``test.salesforce.com``
(sandboxes) or the org's My Domain (``<name>.my.salesforce.com``); the token and the SOAP login
answer with the org's instance, which is always its My Domain (``docs/salesforce-facts.md``,
"Hosts"). The sandbox can stand in for all of them behind its HTTPS proxy (``--proxy-port``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

LOGIN_HOSTS = frozenset({"login.salesforce.com", "test.salesforce.com"})
#: What the sandbox's certificate names, and so the only hosts its proxy tunnels to, in proxy mode.
SALESFORCE_NAMES = (
    "login.salesforce.com",
    "test.salesforce.com",
    "*.salesforce.com",
    "*.my.salesforce.com",
    "*.sandbox.my.salesforce.com",
    "*.force.com",
)
DEFAULT_MY_DOMAIN = "sfcrm-sandbox"


def name_covers(pattern: str, host: str) -> bool:
    """Whether a certificate name (``*.my.salesforce.com``) covers ``host``; a ``*`` is one label."""
    host = host.lower().rstrip(".")
    if not pattern.startswith("*."):
        return host == pattern
    label, _, rest = host.partition(".")
    return bool(label) and rest == pattern[2:]


def is_salesforce_host(host: str) -> bool:
    """A host the sandbox's proxy may stand in for (one its certificate names)."""
    return any(name_covers(pattern, host) for pattern in SALESFORCE_NAMES)


def host_of(base_url: str) -> str:
    return (urlsplit(base_url).hostname or "").lower()


def is_login_host(base_url: str) -> bool:
    """``login.salesforce.com`` or ``test.salesforce.com``: where an org is logged into, not served."""
    return host_of(base_url) in LOGIN_HOSTS


def instance_url(base_url: str, my_domain: str) -> str:
    """The instance a login reached at ``base_url`` answers with.

    A login at ``login``/``test.salesforce.com`` lands on the org's My Domain
    (``https://<my_domain>.my.salesforce.com``); anywhere else (a My Domain, or the sandbox's own
    ``https://127.0.0.1:<port>``) the client already is on the instance.
    """
    if is_login_host(base_url):
        return f"https://{my_domain}.my.salesforce.com"
    return base_url
