import requests


def fetch(url, session):
    # ruleid: python.requests-verify-false
    r1 = requests.get(url, verify=False)
    # ruleid: python.requests-verify-false
    r2 = session.post(url, json={}, verify=False, timeout=5)
    # ruleid: python.requests-verify-false
    r3 = httpx.Client(verify=False)
    # ok: python.requests-verify-false
    r4 = requests.get(url, verify=True)
    # ok: python.requests-verify-false
    r5 = requests.get(url, verify="/etc/ssl/certs/ca.pem", timeout=5)
    return r1, r2, r3, r4, r5
