"""``sfcrm-sandbox``: a local HTTPS server that behaves like a Salesforce org's REST API.

Start it with ``sfcrm-sandbox serve`` (or ``python -m sfcrm_sandbox serve``); from Python,
:func:`sfcrm_sandbox.process.start_sandbox`.
"""

__version__ = "0.1.0"
