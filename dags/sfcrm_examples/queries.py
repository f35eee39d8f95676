"""The example profile store's queries, as text only: DAG files import this while being parsed."""

#: Everyone's current membership as of ``:as_of``: one row per Contact, 1/0 per audience (a member
#: is someone whose latest status before ``:as_of`` is not ``exited``). The example DAGs' query.
_CONTACT_MEMBERSHIP = """
WITH latest AS (
    SELECT profile_id, audience_id, status,
           ROW_NUMBER() OVER (PARTITION BY profile_id, audience_id ORDER BY changed_at DESC) AS newest_first
    FROM audience_memberships
    WHERE changed_at < :as_of
),
members AS (SELECT profile_id, audience_id FROM latest WHERE newest_first = 1 AND status <> 'exited')
SELECT p.profile_id, {identity}p.first_name, p.last_name, p.email,
       p.profile_id IN (SELECT profile_id FROM members WHERE audience_id = 'high_value') AS aud_high_value,
       p.profile_id IN (SELECT profile_id FROM members WHERE audience_id = 'cart_abandoners')
           AS aud_cart_abandoners,
       p.profile_id IN (SELECT profile_id FROM members WHERE audience_id = 'newsletter') AS aud_newsletter
FROM profiles AS p
WHERE p.crm_object = 'Contact'
ORDER BY p.profile_id
"""
CONTACT_MEMBERSHIP_SQL = _CONTACT_MEMBERSHIP.format(identity="p.salesforce_id, ")
#: The same without the store's Salesforce Id: ``example_sfcrm_activate_contacts_by_email`` finds each
#: person's Contact by e-mail in the extracts instead.
CONTACT_MEMBERSHIP_BY_EMAIL_SQL = _CONTACT_MEMBERSHIP.format(identity="")
