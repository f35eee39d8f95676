"""Every URL the sandbox answers, in one place: method, path template, handler.

Four tables. :func:`service_routes` are answered as they are: OAuth, SOAP login, the identity URL,
the list of API versions and the sandbox's own ``/__sandbox`` endpoints; :func:`prefix_routes` are
whole subtrees answered by one handler (Apex REST). :func:`data_api_routes` are relative
to ``/services/data/vXX.X`` (the REST API, Bulk API 2.0's ``jobs`` included) and
:func:`async_api_routes` to ``/services/async/XX.X`` (Bulk API 1.0); both go through the pipeline
of :mod:`sfcrm_sandbox.server.app` (version check, session, daily API limit, injected faults and
latency, ``Sforce-Limit-Info``).

To add an API area: write its handlers in a module under :mod:`sfcrm_sandbox.responses`, add them
to :class:`Responses` (and to :meth:`Responses.of_org`), and list their routes here.
"""

from __future__ import annotations

from dataclasses import dataclass

from sfcrm_sandbox.models.bulk_jobs import BulkOrg
from sfcrm_sandbox.models.faults import Faults
from sfcrm_sandbox.models.hosts import DEFAULT_MY_DOMAIN
from sfcrm_sandbox.models.sessions import Sessions
from sfcrm_sandbox.models.store import OrgStore
from sfcrm_sandbox.models.usage import ApiUsage
from sfcrm_sandbox.models.writes import Writer
from sfcrm_sandbox.responses.admin import AdminResponses
from sfcrm_sandbox.responses.apex import APEX_REST_PREFIX, ApexRestResponses
from sfcrm_sandbox.responses.bulk1 import AsyncResponses
from sfcrm_sandbox.responses.bulk2_ingest import IngestResponses
from sfcrm_sandbox.responses.bulk2_query import QueryJobResponses
from sfcrm_sandbox.responses.collections import CollectionResponses
from sfcrm_sandbox.responses.composite import CompositeResponses
from sfcrm_sandbox.responses.describe import DescribeResponses
from sfcrm_sandbox.responses.discovery import DiscoveryResponses
from sfcrm_sandbox.responses.oauth import OAuthResponses
from sfcrm_sandbox.responses.query import QueryResponses
from sfcrm_sandbox.responses.records import RecordResponses
from sfcrm_sandbox.responses.replication import ReplicationResponses
from sfcrm_sandbox.responses.search import SearchResponses
from sfcrm_sandbox.responses.soap import SoapResponses
from sfcrm_sandbox.responses.tooling import ToolingResponses
from sfcrm_sandbox.server.routing import Handler, Route

#: The versioned REST API; :func:`data_api_routes` templates follow it.
DATA_API_PREFIX = "/services/data/v"
#: Bulk API 1.0; :func:`async_api_routes` templates follow it.
ASYNC_API_PREFIX = "/services/async/"


@dataclass(frozen=True)
class Responses:
    """The handlers of one org, by API area."""

    admin: AdminResponses
    apex: ApexRestResponses
    oauth: OAuthResponses
    soap: SoapResponses
    discovery: DiscoveryResponses
    describe: DescribeResponses
    records: RecordResponses
    collections: CollectionResponses
    composite: CompositeResponses
    replication: ReplicationResponses
    search: SearchResponses
    query: QueryResponses
    tooling: ToolingResponses
    bulk_ingest: IngestResponses
    bulk_query: QueryJobResponses
    bulk_async: AsyncResponses

    @classmethod
    def of_org(
        cls,
        store: OrgStore,
        writer: Writer,
        sessions: Sessions,
        usage: ApiUsage,
        faults: Faults,
        bulk: BulkOrg,
        my_domain: str = DEFAULT_MY_DOMAIN,
    ) -> Responses:
        """The handlers of the org ``store`` holds; logins at login/test land on ``my_domain``."""
        query = QueryResponses(store)
        return cls(
            admin=AdminResponses(store, writer, usage, faults, query.cursors.clear, bulk),
            apex=ApexRestResponses(sessions),
            oauth=OAuthResponses(store, sessions, my_domain),
            soap=SoapResponses(store, sessions, my_domain),
            discovery=DiscoveryResponses(usage, bulk.allocations),
            describe=DescribeResponses(store),
            records=RecordResponses(store, writer),
            collections=CollectionResponses(store, writer),
            composite=CompositeResponses(store, writer),
            replication=ReplicationResponses(store),
            search=SearchResponses(store),
            query=query,
            tooling=ToolingResponses(store),
            bulk_ingest=IngestResponses(bulk),
            bulk_query=QueryJobResponses(bulk),
            bulk_async=AsyncResponses(bulk),
        )


def service_routes(responses: Responses) -> list[Route]:
    """Routes outside the versioned REST API (no API-call accounting)."""
    admin, oauth = responses.admin, responses.oauth
    return [
        Route("GET", "/__sandbox/stats", admin.stats),
        Route("POST", "/__sandbox/reset", admin.reset),
        Route("GET", "/__sandbox/clock", admin.clock),
        Route("POST", "/__sandbox/clock", admin.set_clock),
        Route("POST", "/__sandbox/leads/{id}/convert", admin.convert_lead),
        Route("GET", "/__sandbox/events/{name}", admin.events),
        Route("GET", "/__sandbox/duplicate-rules", admin.duplicate_rules),
        Route("POST", "/__sandbox/duplicate-rules", admin.set_duplicate_rules),
        Route("POST", "/services/oauth2/token", oauth.token),
        Route("GET", "/services/oauth2/userinfo", oauth.userinfo),
        Route("POST", "/services/oauth2/userinfo", oauth.userinfo),
        Route("POST", "/services/Soap/u/{version}", responses.soap.login),
        Route("GET", "/id/{org}/{user}", oauth.identity),
        Route("POST", "/id/{org}/{user}", oauth.identity),
        Route("GET", "/services/data", responses.discovery.versions),
    ]


def prefix_routes(responses: Responses) -> list[tuple[str, Handler]]:
    """Whole subtrees answered by one handler, any method: ``(path prefix, handler)``; the handler
    gets the rest of the path as ``params["path"]``."""
    return [(APEX_REST_PREFIX, responses.apex.no_class)]


def data_api_routes(responses: Responses) -> list[Route]:
    """Routes under ``/services/data/vXX.X``."""
    discovery, describe, records = responses.discovery, responses.describe, responses.records
    collections, query, tooling = responses.collections, responses.query, responses.tooling
    return [
        Route("GET", "", discovery.resources),
        Route("GET", "/limits", discovery.limits),
        Route("GET", "/sobjects", describe.global_describe),
        Route("GET", "/sobjects/{sobject}", describe.sobject_info),
        Route("POST", "/sobjects/{sobject}", records.create_record),
        Route("GET", "/sobjects/{sobject}/describe", describe.describe),
        # Before sobjects/{sobject}/{id}: these two names are resources, not record Ids.
        Route("GET", "/sobjects/{sobject}/updated", responses.replication.updated),
        Route("GET", "/sobjects/{sobject}/deleted", responses.replication.deleted),
        Route("GET", "/sobjects/{sobject}/{id}", records.get_record),
        Route("PATCH", "/sobjects/{sobject}/{id}", records.update_record),
        Route("DELETE", "/sobjects/{sobject}/{id}", records.delete_record),
        Route("GET", "/sobjects/{sobject}/{field}/{value}", records.get_by_external_id),
        Route("PATCH", "/sobjects/{sobject}/{field}/{value}", records.upsert_record),
        Route("DELETE", "/sobjects/{sobject}/{field}/{value}", records.delete_by_external_id),
        Route("POST", "/composite/sobjects", collections.collection_create),
        Route("PATCH", "/composite/sobjects", collections.collection_update),
        Route("DELETE", "/composite/sobjects", collections.collection_delete),
        Route("PATCH", "/composite/sobjects/{sobject}/{field}", collections.collection_upsert),
        Route("GET", "/composite/sobjects/{sobject}", collections.collection_retrieve),
        Route("POST", "/composite/sobjects/{sobject}", collections.collection_retrieve),
        Route("GET", "/composite", discovery.composite_resources),
        Route("POST", "/composite", responses.composite.composite),
        Route("POST", "/composite/tree/{sobject}", responses.composite.tree),
        Route("GET", "/query", query.query),
        Route("GET", "/queryAll", query.query_all),
        Route("GET", "/query/{locator}", query.query_more),
        Route("GET", "/queryAll/{locator}", query.query_more),
        Route("GET", "/tooling", discovery.tooling_resources),
        Route("GET", "/jobs", discovery.jobs_resources),
        Route("GET", "/tooling/sobjects", describe.tooling_global_describe),
        Route("GET", "/tooling/sobjects/{sobject}", describe.tooling_info),
        Route("GET", "/tooling/sobjects/{sobject}/describe", describe.tooling_describe),
        Route("POST", "/tooling/sobjects/CustomField", tooling.create_field),
        Route("GET", "/tooling/sobjects/CustomField/{id}", tooling.get_field),
        Route("POST", "/tooling/sobjects/CustomObject", tooling.create_object),
        Route("GET", "/tooling/sobjects/CustomObject/{id}", tooling.get_object),
        Route("GET", "/tooling/query", query.tooling_query),
        Route("GET", "/search", responses.search.search),
        Route("GET", "/parameterizedSearch", responses.search.parameterized_search),
        Route("POST", "/parameterizedSearch", responses.search.parameterized_search),
        *bulk2_routes(responses),
    ]


def bulk2_routes(responses: Responses) -> list[Route]:
    """Bulk API 2.0 (``jobs/ingest`` from API 41.0, ``jobs/query`` from 47.0), under the REST API.
    Their handlers read bodies themselves (CSV, multipart)."""
    ingest, query = responses.bulk_ingest, responses.bulk_query
    routes = [
        ("POST", "/jobs/ingest", ingest.create_job),
        ("GET", "/jobs/ingest", ingest.list_jobs),
        ("GET", "/jobs/ingest/{job}", ingest.job_info),
        ("PATCH", "/jobs/ingest/{job}", ingest.change_state),
        ("DELETE", "/jobs/ingest/{job}", ingest.delete_job),
        ("PUT", "/jobs/ingest/{job}/batches", ingest.upload),
        ("GET", "/jobs/ingest/{job}/successfulResults", ingest.successful_results),
        ("GET", "/jobs/ingest/{job}/failedResults", ingest.failed_results),
        ("GET", "/jobs/ingest/{job}/unprocessedrecords", ingest.unprocessed_records),
        # simple-salesforce asks for this spelling; Salesforce answers both.
        ("GET", "/jobs/ingest/{job}/unprocessedRecords", ingest.unprocessed_records),
        ("POST", "/jobs/query", query.create_job),
        ("GET", "/jobs/query", query.list_jobs),
        ("GET", "/jobs/query/{job}", query.job_info),
        ("PATCH", "/jobs/query/{job}", query.abort),
        ("DELETE", "/jobs/query/{job}", query.delete_job),
        ("GET", "/jobs/query/{job}/results", query.results),
    ]
    return [Route(method, template, handler, raw_body=True) for method, template, handler in routes]


def async_api_routes(responses: Responses) -> list[Route]:
    """Routes under ``/services/async/XX.X`` (Bulk API 1.0)."""
    bulk = responses.bulk_async
    return [
        Route("POST", "/job", bulk.create_job),
        Route("GET", "/job/{job}", bulk.job_info),
        Route("POST", "/job/{job}", bulk.update_job),
        Route("POST", "/job/{job}/batch", bulk.add_batch),
        Route("GET", "/job/{job}/batch", bulk.list_batches),
        Route("GET", "/job/{job}/batch/{batch}", bulk.batch_info),
        Route("GET", "/job/{job}/batch/{batch}/request", bulk.batch_request),
        Route("GET", "/job/{job}/batch/{batch}/result", bulk.batch_results),
        Route("GET", "/job/{job}/batch/{batch}/result/{result}", bulk.query_result),
    ]
