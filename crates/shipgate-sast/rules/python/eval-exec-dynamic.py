import ast

from flask import request


def calc():
    expr = request.args.get("expr")
    # ruleid: python.eval-exec-dynamic
    result = eval(expr)
    # ruleid: python.eval-exec-dynamic
    exec(request.form["code"], {})
    # ok: python.eval-exec-dynamic
    value = ast.literal_eval(expr)
    # ok: python.eval-exec-dynamic
    two = eval("1 + 1")
    return result, value, two
