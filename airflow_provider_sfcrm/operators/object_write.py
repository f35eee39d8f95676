"""Writes rows into any Salesforce object: the generic name of the segment export."""

from __future__ import annotations

from airflow_provider_sfcrm.operators.segment_export import SalesforceSegmentExportOperator


class SalesforceObjectWriteOperator(SalesforceSegmentExportOperator):
    """Writes rows into any object the connection's user can write — Account, Opportunity, Campaign,
    CampaignMember, a custom ``Thing__c`` — by insert, update (by Id) or upsert (by an external id).

    The same operator as the segment export
    (:class:`~airflow_provider_sfcrm.operators.segment_export.SalesforceSegmentExportOperator`) under a
    plainer name, for rows that are records rather than audience members: ``audiences`` is
    simply left out. Values are typed from the object's describe and every row is checked before
    any API call; ``Relationship.Field`` targets (``Account.Ext_Id__c``) set a parent by its external
    id in the same request. Every argument, the rejected-rows file and the summary are the export's.

    :param sobject: the object written (templated).
    :param field_mapping: ``{column: field}`` (templated); see the export operator.
    """

    ui_color = "#e0ecf8"
