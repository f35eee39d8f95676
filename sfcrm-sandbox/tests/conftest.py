"""Sandboxes for the sandbox's own tests: each a real ``sfcrm-sandbox serve`` child process on a free port."""

pytest_plugins = ["sfcrm_sandbox.testing"]
