"""API versions and their release names."""

from __future__ import annotations

import pytest

from sfcrm_sandbox.models.versions import is_retired, is_supported, major_of, version_label


@pytest.mark.parametrize(
    ("major", "label"), [(31, "Summer '14"), (59, "Winter '24"), (66, "Spring '26"), (67, "Summer '26")]
)
def test_version_labels(major, label):
    assert version_label(major) == label


@pytest.mark.parametrize(
    ("version", "major", "supported", "retired"),
    [
        ("62.0", 62, True, False),
        ("30.0", 30, False, True),
        ("20.0", 20, False, False),
        ("v62", None, None, None),
    ],
)
def test_version_numbers(version, major, supported, retired):
    assert major_of(version) == major
    if major is not None:
        assert (is_supported(major), is_retired(major)) == (supported, retired)
