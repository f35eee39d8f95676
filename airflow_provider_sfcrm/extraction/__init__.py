"""The pure core of Salesforce as a source: no Airflow, no HTTP.

What to read (the window of an interval, the SOQL, the columns and their types from describe, a
validated ``where``), how records become typed Arrow batches, how the output's rows stay unique, how
an interval's file set is written atomically, and the arithmetic of the API quota guard. The hook does
the HTTP and the operator the Airflow side; everything here is unit-tested without either.
"""
