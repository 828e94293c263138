import jwt


def read(token, key):
    # ruleid: python.jwt-verification-disabled
    a = jwt.decode(token, options={"verify_signature": False})
    # ruleid: python.jwt-verification-disabled
    b = jwt.decode(token, key, verify=False)
    # ok: python.jwt-verification-disabled
    c = jwt.decode(token, key, algorithms=["HS256"])
    # ok: python.jwt-verification-disabled
    d = jwt.decode(token, key, algorithms=["HS256"], options={"verify_exp": True})
    return a, b, c, d
