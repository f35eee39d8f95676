"""The command line's defaults."""

from __future__ import annotations


def test_cli_defaults_match_the_launcher():
    from sfcrm_sandbox.cli import build_parser
    from sfcrm_sandbox.process import DEFAULT_CREDENTIALS

    args = build_parser().parse_args(["serve"])
    assert (args.port, args.latency_ms, args.faults) == (8443, 0.0, None)
    assert {key: getattr(args, key) for key in DEFAULT_CREDENTIALS} == DEFAULT_CREDENTIALS
