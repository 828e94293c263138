from flask import Flask

app = Flask(__name__)

# ruleid: python.flask-debug-enabled
app.run(host="0.0.0.0", debug=True)
# ruleid: python.flask-debug-enabled
app.debug = True
# ok: python.flask-debug-enabled
app.run(host="127.0.0.1", debug=False)
# ok: python.flask-debug-enabled
app.run(port=8080)
