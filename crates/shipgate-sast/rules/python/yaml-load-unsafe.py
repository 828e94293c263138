import yaml


def parse(text):
    # ruleid: python.yaml-load-unsafe
    a = yaml.load(text)
    # ruleid: python.yaml-load-unsafe
    b = yaml.load(text, Loader=yaml.Loader)
    # ruleid: python.yaml-load-unsafe
    c = yaml.unsafe_load(text)
    # ok: python.yaml-load-unsafe
    d = yaml.safe_load(text)
    # ok: python.yaml-load-unsafe
    e = yaml.load(text, Loader=yaml.SafeLoader)
    return a, b, c, d, e
