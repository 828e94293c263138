from flask import render_template, render_template_string, request


def hello():
    name = request.args.get("name")
    # ruleid: python.flask-render-template-string
    page = render_template_string("<h1>Hello " + name + "</h1>")
    # ruleid: python.flask-render-template-string
    other = flask.render_template_string(f"<p>{name}</p>")
    # ok: python.flask-render-template-string
    fine = render_template_string("<h1>Hello {{ name }}</h1>", name=name)
    # ok: python.flask-render-template-string
    best = render_template("hello.html", name=name)
    return page, other, fine, best
