"""pyvo's AuthSession against a live vonode with a team-a token (Debian's python3-pyvo 1.2).

Usage: /usr/bin/python3 conformance/pyvo_auth.py http://127.0.0.1:PORT TOKEN

The session is built the way pyvo documents it: credentials per security method in
`session.credentials`, the URL -> method map learnt from the capabilities the services
read. Nothing is added by hand with add_security_method_for_url: if a URL a row or a
link points to is not covered by the node's capabilities, pyvo sends it anonymously and
the check fails. Each check prints PASS or FAIL; the exit status is the number of failures.
"""
import sys
import time
from urllib.parse import urlsplit

import pyvo
import requests
from pyvo.auth import AuthSession, securitymethods
from pyvo.dal.adhoc import DatalinkResults

base = sys.argv[1].rstrip("/")
token = sys.argv[2]
OAUTH = "ivo://ivoa.net/sso#OAuth"
FIELD = "field-07"
failures = 0


def check(name, fn):
    global failures
    t0 = time.time()
    try:
        detail = fn()
        print(f"PASS {name} ({time.time() - t0:.2f} s){': ' + detail if detail else ''}")
    except Exception as exc:  # noqa: BLE001 - report every failure and go on
        failures += 1
        print(f"FAIL {name}: {type(exc).__name__}: {exc}")


def bearer_session():
    """An AuthSession that sends the token as a bearer token where capabilities allow OAuth."""
    session = AuthSession()
    with_token = requests.Session()
    with_token.headers["Authorization"] = f"Bearer {token}"
    session.credentials.set(OAUTH, with_token)
    return session


def basic_session():
    """The same token as the HTTP Basic password (pyvo's own set_password; any user name)."""
    session = AuthSession()
    session.credentials.set_password("alice", token)
    return session


auth = bearer_session()
tap = pyvo.dal.TAPService(f"{base}/tap", session=auth)  # reads /tap/capabilities into the session
anonymous_tap = pyvo.dal.TAPService(f"{base}/tap")

COUNT = f"SELECT COUNT(*) AS n FROM demo.sources WHERE field_id = '{FIELD}'"
PRODUCTS = (
    "SELECT obs_publisher_did, access_url, access_format, s_ra, s_dec FROM ivoa.obscore "
    "WHERE data_rights = 'proprietary' AND obs_publisher_did LIKE '%image-07%'"
)
state = {}


def tap_rows():
    n = int(tap.search(COUNT).to_table()["n"][0])
    assert n > 0, f"no {FIELD} rows with the token"
    anon = int(anonymous_tap.search(COUNT).to_table()["n"][0])
    assert anon == 0, f"{anon} {FIELD} rows without a token"
    state["count"] = n
    return f"{n} {FIELD} rows with the token, 0 without"


def tap_basic():
    session = basic_session()
    service = pyvo.dal.TAPService(f"{base}/tap", session=session)
    n = int(service.search(COUNT).to_table()["n"][0])
    assert n == state.get("count", n) and n > 0, n
    return f"{n} rows with the token as the Basic password"


def product():
    result = tap.search(PRODUCTS)
    assert len(result) >= 1, "the team-a product is not visible with the token"
    state["result"] = result
    anon = anonymous_tap.search(PRODUCTS)
    assert len(anon) == 0, "the team-a product is visible without a token"
    return str(result.to_table()["obs_publisher_did"][0])


def datalinks():
    # pyvo 1.2's iter_datalinks() needs a service descriptor in the TAP result; the access
    # URL of an ObsCore row is the DataLink document itself, which pyvo reads like this.
    url = str(state["result"].to_table()["access_url"][0])
    record_links = DatalinkResults.from_result_url(url, session=auth)
    anon = DatalinkResults.from_result_url(url)
    assert not any(link.semantics == "#this" and str(link["access_url"] or "").strip() for link in anon), "the file is linked without a token"
    semantics = {link.semantics: link.access_url for link in record_links}
    assert "#this" in semantics, semantics
    assert "#preview" in semantics, semantics
    state["links"] = semantics
    return ", ".join(sorted(semantics))


def fetch(url, magic, what):
    # What pyvo itself does for getdataset(): the session's get, credentials by capability.
    response = auth.get(url, stream=True)
    assert response.status_code == 200, f"{what}: HTTP {response.status_code}"
    head = response.raw.read(len(magic))
    response.close()
    assert head == magic, f"{what}: starts with {head!r}"
    anon = requests.get(url, stream=True)
    assert anon.status_code in (401, 403, 404), f"{what} without a token: HTTP {anon.status_code}"
    anon.close()
    path = "/".join(urlsplit(url).path.split("/")[:3])
    return f"{path}/...: 200 with the token, {anon.status_code} without"


def files():
    return fetch(state["links"]["#this"], b"SIMPLE  =", "the FITS file")


def preview():
    return fetch(state["links"]["#preview"], b"\x89PNG", "the preview")


def scs():
    # pyvo's SCSService reads no capabilities: the session's map from /tap/capabilities
    # must cover /scs/query, and pyvo drops the '?' of the base URL before asking it.
    row = state["result"].to_table()[0]
    service = pyvo.dal.SCSService(f"{base}/scs/query?", session=auth)
    found = service.search(pos=(float(row["s_ra"]), float(row["s_dec"])), radius=0.5, verbosity=3)
    table = found.to_table()
    mine = sum(1 for f in table["field_id"] if str(f) == FIELD)
    anon = pyvo.dal.SCSService(f"{base}/scs/query?").search(
        pos=(float(row["s_ra"]), float(row["s_dec"])), radius=0.5, verbosity=3
    )
    anon_mine = sum(1 for f in anon.to_table()["field_id"] if str(f) == FIELD)
    assert mine > 0, f"no {FIELD} sources in the cone with the token ({len(table)} rows)"
    assert anon_mine == 0, f"{anon_mine} {FIELD} sources without a token"
    return f"{mine} {FIELD} sources in the cone with the token, 0 without"


def no_anonymous_fallback():
    # The session resolves each URL to the token, not to anonymous access.
    for url in (f"{base}/datalink/files/x", f"{base}/preview/x.png", f"{base}/scs/query", f"{base}/tap/sync"):
        methods = auth._auth_urls.allowed_auth_methods(url)
        chosen = auth.credentials.negotiate_method(methods)
        assert chosen == OAUTH, f"{url}: {chosen} from {sorted(methods)}"
    assert auth.credentials.negotiate_method(
        auth._auth_urls.allowed_auth_methods(f"{base}/tap/capabilities")
    ) == securitymethods.ANONYMOUS
    return "token for files, previews, SCS and TAP; capabilities anonymous"


check("TAP: field-07 rows with the token, none without", tap_rows)
check("TAP: the token as the Basic password", tap_basic)
check("TAP: the team-a ObsCore product", product)
if "result" in state:
    check("DataLink: links of the product", datalinks)
if "links" in state:
    check("DataLink: the FITS file", files)
    check("DataLink: the preview", preview)
if "result" in state:
    check("SCS: field-07 sources in a cone", scs)
check("AuthSession: which URLs get the token", no_anonymous_fallback)
sys.exit(failures)
