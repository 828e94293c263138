import requests
from flask import request


def proxy():
    # ruleid: python.ssrf-request-param-url
    r = requests.get(request.args.get("url"), timeout=5)
    # ruleid: python.ssrf-request-param-url
    r2 = requests.post(request.form["target"], data={})
    # ruleid: python.ssrf-request-param-url
    r3 = urllib.request.urlopen(request.values.get("u"))
    # ok: python.ssrf-request-param-url
    r4 = requests.get("https://api.example.com/status", params={"q": request.args.get("q")})
    # ok: python.ssrf-request-param-url
    r5 = requests.get(ALLOWED[request.args.get("svc")], timeout=5)
    return r, r2, r3, r4, r5
