"""The org: its state and Salesforce's rules (Ids, names, values, objects, writes, SOQL, sessions).

Nothing here knows HTTP; :mod:`sfcrm_sandbox.responses` turns requests into calls on these models.
"""
