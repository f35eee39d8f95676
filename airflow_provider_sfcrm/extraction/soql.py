"""The SOQL of an extract: its query, the ``COUNT()`` that sizes it, and the query that resumes it.

``SELECT <columns> FROM <object> WHERE (<window>) [AND (<where>)] ORDER BY Id``: ordered by Id (the
primary key, which Salesforce sorts cheaply) so that re-running an interval writes the same rows in
the same order, and so that a read whose query cursor expired can resume after the last Id it wrote
(:func:`resume_query`). Names are validated API names; the window's literals are UTC dateTimes; the
``where`` has been rebuilt by :func:`~airflow_provider_sfcrm.extraction.where.validate_where`.
"""

from __future__ import annotations

from collections.abc import Sequence

from airflow_provider_sfcrm.activation.ids import is_well_formed
from airflow_provider_sfcrm.activation.names import validate_api_name
from airflow_provider_sfcrm.extraction.window import ExtractWindow


def _condition(window: ExtractWindow, where: str | None) -> str:
    condition = f"({window.soql_condition()})"
    return f"{condition} AND ({where})" if where else condition


def build_query(sobject: str, columns: Sequence[str], window: ExtractWindow, where: str | None = None) -> str:
    """The extract's query (run with ``queryAll`` for an incremental window, so deletions come too)."""
    validate_api_name(sobject, "object name")
    names = [validate_api_name(name, "column name") for name in columns]
    if not names:
        raise ValueError("an extract needs at least one column")
    return f"SELECT {', '.join(names)} FROM {sobject} WHERE {_condition(window, where)} ORDER BY Id"


def build_count(sobject: str, window: ExtractWindow, where: str | None = None) -> str:
    """``SELECT COUNT() FROM ...`` with the extract's conditions: how many rows the query will return."""
    validate_api_name(sobject, "object name")
    return f"SELECT COUNT() FROM {sobject} WHERE {_condition(window, where)}"


def unordered(query: str) -> str:
    """``query`` (from :func:`build_query`) without its ``ORDER BY Id``: Bulk queries take no ORDER BY."""
    head, ordered, tail = query.rpartition(" ORDER BY Id")
    if not ordered or tail:
        raise ValueError("not a query that ends with ORDER BY Id")
    return head


def resume_query(query: str, after_id: str) -> str:
    """``query`` (from :func:`build_query`) restricted to the rows after ``after_id`` in Id order."""
    if not is_well_formed(after_id):
        raise ValueError(f"cannot resume after {after_id!r}: not a Salesforce Id")
    head, order = query.rsplit(" ORDER BY Id", 1)
    if order:
        raise ValueError("only a query that ends with ORDER BY Id can be resumed")
    select, _, condition = head.partition(" WHERE ")
    return f"{select} WHERE ({condition}) AND Id > '{after_id}' ORDER BY Id"
