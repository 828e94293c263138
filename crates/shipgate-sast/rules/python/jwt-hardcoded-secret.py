import os

import jwt


def issue(user_id, token):
    # ruleid: python.jwt-hardcoded-secret
    t = jwt.encode({"sub": user_id}, "super-secret-key", algorithm="HS256")
    # ruleid: python.jwt-hardcoded-secret
    claims = jwt.decode(token, 'changeme', algorithms=["HS256"])
    # ok: python.jwt-hardcoded-secret
    t2 = jwt.encode({"sub": user_id}, os.environ["JWT_SECRET"], algorithm="HS256")
    # ok: python.jwt-hardcoded-secret
    claims2 = jwt.decode(token, settings.JWT_KEY, algorithms=["HS256"])
    return t, claims, t2, claims2
