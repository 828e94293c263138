import tempfile


def scratch():
    # ruleid: python.tempfile-mktemp
    p1 = tempfile.mktemp()
    # ruleid: python.tempfile-mktemp
    p2 = mktemp(suffix=".txt")
    # ok: python.tempfile-mktemp
    fd, p3 = tempfile.mkstemp()
    # ok: python.tempfile-mktemp
    f = tempfile.NamedTemporaryFile(delete=False)
    return p1, p2, fd, p3, f
