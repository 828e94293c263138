import ssl


def make_ctx(sock):
    # ruleid: python.ssl-unverified-context
    ctx = ssl._create_unverified_context()
    good = ssl.create_default_context()
    # ruleid: python.ssl-unverified-context
    good.check_hostname = False
    # ruleid: python.ssl-unverified-context
    good.verify_mode = ssl.CERT_NONE
    # ok: python.ssl-unverified-context
    good.verify_mode = ssl.CERT_REQUIRED
    # ok: python.ssl-unverified-context
    good.check_hostname = True
    return ctx, good
