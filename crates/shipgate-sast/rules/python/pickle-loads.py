import json
import pickle


def restore(blob, fh):
    # ruleid: python.pickle-loads
    obj = pickle.loads(blob)
    # ruleid: python.pickle-loads
    other = pickle.load(fh)
    # ruleid: python.pickle-loads
    third = dill.loads(blob)
    # ok: python.pickle-loads
    safe = json.loads(blob)
    # ok: python.pickle-loads
    data = pickle.dumps(obj)
    return obj, other, third, safe, data
