"""Request and response handling, one module per API area: a :class:`~.call.Call` in, a
:class:`~.call.Reply` out, Salesforce's shapes and status codes; routes are in :mod:`sfcrm_sandbox.urls`."""
