import os

from flask import request, send_file, send_from_directory

BASE = "/srv/files"


def download():
    # ruleid: python.path-traversal-request-param
    fh = open(os.path.join(BASE, request.args.get("name")), "rb")
    # ruleid: python.path-traversal-request-param
    resp = send_file(os.path.join(BASE, request.args.get("name")))
    # ruleid: python.path-traversal-request-param
    raw = open(request.form["path"])
    # ok: python.path-traversal-request-param
    safe = send_from_directory(BASE, request.args.get("name"))
    # ok: python.path-traversal-request-param
    static = open(os.path.join(BASE, "index.html"))
    return fh, resp, raw, safe, static
