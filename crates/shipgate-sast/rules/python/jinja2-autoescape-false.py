import jinja2
from jinja2 import Environment, FileSystemLoader, select_autoescape


def make_env():
    # ruleid: python.jinja2-autoescape-false
    a = jinja2.Environment(loader=FileSystemLoader("t"), autoescape=False)
    # ruleid: python.jinja2-autoescape-false
    b = Environment(autoescape=False)
    # ok: python.jinja2-autoescape-false
    c = Environment(loader=FileSystemLoader("t"), autoescape=select_autoescape())
    # ok: python.jinja2-autoescape-false
    d = jinja2.Environment(autoescape=True)
    return a, b, c, d
