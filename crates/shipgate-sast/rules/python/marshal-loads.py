import json
import marshal


def decode(buf, fh):
    # ruleid: python.marshal-loads
    code = marshal.loads(buf)
    # ruleid: python.marshal-loads
    more = marshal.load(fh)
    # ok: python.marshal-loads
    data = json.loads(buf)
    # ok: python.marshal-loads
    out = marshal.dumps(data)
    return code, more, out
