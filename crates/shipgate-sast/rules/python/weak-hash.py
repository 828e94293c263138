import hashlib


def digest(password, data):
    # ruleid: python.weak-hash
    h1 = hashlib.md5(password.encode()).hexdigest()
    # ruleid: python.weak-hash
    h2 = hashlib.sha1(data)
    # ruleid: python.weak-hash
    h3 = hashlib.new("md5", data)
    # ok: python.weak-hash
    h4 = hashlib.sha256(data)
    # ok: python.weak-hash
    h5 = hashlib.md5(data, usedforsecurity=False)
    return h1, h2, h3, h4, h5
