"""Airflow Assets of Salesforce objects: what an extract produces, and what downstream DAGs wait for.

An object of an org is the Asset ``salesforce://<org id>/<object>``, e.g.
``salesforce://00Dak00000A1b2CEAR/Contact``: the 18-character Organization Id (Setup → Company
Information, or the ``organization_id`` of ``GET /services/oauth2/userinfo``) and the object's API
name: an org's Id never changes, where its host names can (My Domain renames, instance moves).
OpenLineage, whose datasets are named by where they live, names the same object by its instance host
(``salesforce://acme.my.salesforce.com/Contact``), in the extract's facets as in the export's.

``SalesforceExtractOperator`` declares, unless given other ``outlets``, the alias
``sfcrm-extract:<conn id>:<object>`` (:func:`extract_alias`), and attaches each run's event to the
object's Asset once it knows the org id. A DAG scheduled on ``salesforce_asset("00D...", "Contact")``
(or on that alias) runs after each extract of Contacts; the event's ``extra`` tells it which file set
to read (``output_path``, ``interval_start``, ``interval_end``, ``rows``, ``deleted``).
"""

from __future__ import annotations

from airflow.sdk import Asset, AssetAlias

from airflow_provider_sfcrm.activation.ids import has_prefix_of, is_well_formed
from airflow_provider_sfcrm.activation.names import validate_api_name

SCHEME = "salesforce"


def salesforce_asset_uri(org_id: str, sobject: str) -> str:
    """``salesforce://<org id>/<object>``; ValueError for anything but an Organization Id and an API name."""
    if not is_well_formed(org_id) or not has_prefix_of(org_id, "Organization"):
        raise ValueError(f"{org_id!r} is not an Organization Id (00D...)")
    return f"{SCHEME}://{org_id}/{validate_api_name(sobject, 'object name')}"


def salesforce_asset(org_id: str, sobject: str) -> Asset:
    """The Asset of ``sobject`` in the org ``org_id`` (its name is its URI, so ``Asset(uri)`` is the same)."""
    return Asset(salesforce_asset_uri(org_id, sobject))


def extract_alias(sfcrm_conn_id: str, sobject: str) -> AssetAlias:
    """The alias an extract of ``sobject`` through ``sfcrm_conn_id`` declares when given no outlets."""
    return AssetAlias(name=f"sfcrm-extract:{sfcrm_conn_id}:{sobject}")
