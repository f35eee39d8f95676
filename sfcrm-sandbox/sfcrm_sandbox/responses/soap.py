"""The SOAP partner API's ``login()``: ``POST /services/Soap/u/{version}``.

simple-salesforce (and so Airflow's ``SalesforceHook``) logs in this way whenever a security token
is given. The request is a SOAP envelope whose body holds ``<login>`` in the partner namespace with
the username and the password followed by the security token; the answer is a ``loginResponse``
with the session id and the instance's ``serverUrl``, or a SOAP fault (HTTP 500) whose detail
carries ``sf:exceptionCode`` / ``sf:exceptionMessage`` (``docs/salesforce-facts.md``, "SOAP login").
The envelope is parsed with the standard library; the password is never echoed.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

from sfcrm_sandbox.models.hosts import instance_url
from sfcrm_sandbox.models.sessions import Sessions
from sfcrm_sandbox.models.store import OrgStore
from sfcrm_sandbox.models.versions import LAST_SOAP_LOGIN_VERSION, is_supported, major_of
from sfcrm_sandbox.responses.call import Call, Reply

ENVELOPE_NS = "http://schemas.xmlsoap.org/soap/envelope/"
PARTNER_NS = "urn:partner.soap.sforce.com"
_FAULT_NS = "urn:fault.partner.soap.sforce.com"
_XML = "text/xml; charset=utf-8"
_MAX_ENVELOPE = 64 * 1024

INVALID_LOGIN = "Invalid username, password, security token; or user locked out."
# Salesforce's answer to a right password without the token, from an IP the org does not trust.
MUST_USE_TOKEN = (
    "Invalid username, password, security token; or user locked out. Are you at a new location? "
    "When accessing Salesforce--either via a desktop client or the API--from outside of your "
    "company's trusted networks, you must add a security token to your password to log in."
)


def soap_fault(code: str, message: str, fault_type: str = "LoginFault") -> Reply:
    """A SOAP fault as Salesforce sends it: HTTP 500, ``faultcode`` ``sf:<code>``, detail with the code."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{ENVELOPE_NS}" xmlns:sf="{_FAULT_NS}" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<soapenv:Body><soapenv:Fault>"
        f"<faultcode>sf:{code}</faultcode><faultstring>{escape(f'{code}: {message}')}</faultstring>"
        f'<detail><sf:{fault_type} xsi:type="sf:{fault_type}">'
        f"<sf:exceptionCode>{code}</sf:exceptionCode>"
        f"<sf:exceptionMessage>{escape(message)}</sf:exceptionMessage>"
        f"</sf:{fault_type}></detail>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    return Reply(500, content=body.encode(), media_type=_XML)


def _client_fault(message: str) -> Reply:
    """A request that is not a SOAP call at all: a ``soapenv:Client`` fault without Salesforce detail."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{ENVELOPE_NS}"><soapenv:Body><soapenv:Fault>'
        f"<faultcode>soapenv:Client</faultcode><faultstring>{escape(message)}</faultstring>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    return Reply(500, content=body.encode(), media_type=_XML)


def _text(parent: ET.Element, name: str) -> str | None:
    found = parent.find(f"{{{PARTNER_NS}}}{name}")
    return None if found is None else (found.text or "")


class SoapResponses:
    """``POST /services/Soap/u/{version}`` (``login`` only).

    :param store: the org (its ids and the integration user).
    :param sessions: checks the credentials and opens the session.
    :param my_domain: the org's My Domain name (logins at login/test land there).
    """

    def __init__(self, store: OrgStore, sessions: Sessions, my_domain: str) -> None:
        self.store = store
        self.sessions = sessions
        self.my_domain = my_domain

    def login(self, call: Call) -> Reply:
        version = call.params["version"]
        major = major_of(version)
        if major is None or not is_supported(major):
            return soap_fault("UNSUPPORTED_API_VERSION", "Invalid Api version specified on URL", "ApiFault")
        if len(call.raw) > _MAX_ENVELOPE:
            return _client_fault("The request is too large for a login call")
        try:
            envelope = ET.fromstring(call.raw)
        except ET.ParseError:
            return _client_fault("The request body is not a well-formed SOAP envelope")
        body = envelope.find(f"{{{ENVELOPE_NS}}}Body")
        operation = None if body is None or len(body) == 0 else body[0]
        if envelope.tag != f"{{{ENVELOPE_NS}}}Envelope" or operation is None:
            return _client_fault("The request body is not a SOAP envelope")
        if operation.tag != f"{{{PARTNER_NS}}}login":
            # The sandbox answers no other SOAP call (UNVERIFIED wording).
            return _client_fault(f"No operation available for request {operation.tag}")
        if major > LAST_SOAP_LOGIN_VERSION:
            return soap_fault(
                "INVALID_OPERATION",
                f"The SOAP Login operation is not available in the API version specified ({version}). "
                "Refer to the documentation for supported versions.",
                "ApiFault",
            )
        username, password = _text(operation, "username"), _text(operation, "password")
        if not self.sessions.password_matches(username, password):
            if self.sessions.password_without_token(username, password):
                return soap_fault("LOGIN_MUST_USE_SECURITY_TOKEN", MUST_USE_TOKEN)
            return soap_fault("INVALID_LOGIN", INVALID_LOGIN)
        scope = envelope.find(f"{{{ENVELOPE_NS}}}Header/{{{PARTNER_NS}}}LoginScopeHeader")
        organization = None if scope is None else _text(scope, "organizationId")
        if organization and organization[:15] != (self.store.org_id or "")[:15]:
            return soap_fault("INVALID_LOGIN", INVALID_LOGIN)
        return self._login_response(call, version)

    def _login_response(self, call: Call, version: str) -> Reply:
        store = self.store
        user_id, org_id = store.user_id or "", store.org_id or ""
        user = (store.get(user_id) or ("User", False, {}))[2]
        organization = (store.get(org_id) or ("Organization", False, {}))[2]
        instance = instance_url(call.base_url, self.my_domain)
        nil = ' xsi:nil="true"/'
        user_info = {
            "accessibilityMode": "false",
            "currencySymbol": "$",
            "orgAttachmentFileSizeLimit": "5242880",
            "orgDefaultCurrencyIsoCode": "USD",
            "orgDisallowHtmlAttachments": "false",
            "orgHasPersonAccounts": "false",
            "organizationId": org_id,
            "organizationMultiCurrency": "false",
            "organizationName": organization.get("Name", ""),
            "profileId": user.get("ProfileId", ""),
            "roleId": None,
            "sessionSecondsValid": str(int(self.sessions.ttl_s)),
            "userDefaultCurrencyIsoCode": None,
            "userEmail": user.get("Email", ""),
            "userFullName": user.get("Name", ""),
            "userId": user_id,
            "userLanguage": user.get("LanguageLocaleKey", "en_US"),
            "userLocale": user.get("LocaleSidKey", "en_US"),
            "userName": user.get("Username", ""),
            "userTimeZone": user.get("TimeZoneSidKey", "GMT"),
            "userType": "Standard",
            "userUiSkin": "Theme3",
        }
        info = "".join(
            f"<{k}{nil}>" if v is None else f"<{k}>{escape(str(v))}</{k}>" for k, v in user_info.items()
        )
        result = (
            f"<metadataServerUrl>{escape(instance)}/services/Soap/m/{version}/{org_id[:15]}</metadataServerUrl>"
            "<passwordExpired>false</passwordExpired>"
            f"<sandbox>{str(bool(organization.get('IsSandbox'))).lower()}</sandbox>"
            f"<serverUrl>{escape(instance)}/services/Soap/u/{version}/{org_id[:15]}</serverUrl>"
            f"<sessionId>{self.sessions.open()}</sessionId>"
            f"<userId>{user_id}</userId><userInfo>{info}</userInfo>"
        )
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<soapenv:Envelope xmlns:soapenv="{ENVELOPE_NS}" xmlns="{PARTNER_NS}" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f"<soapenv:Body><loginResponse><result>{result}</result></loginResponse></soapenv:Body>"
            "</soapenv:Envelope>"
        )
        return Reply(200, content=body.encode(), media_type=_XML)
