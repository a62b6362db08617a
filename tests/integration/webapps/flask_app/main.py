"""A Flask app served whole (`interface: wsgi`), as it would be moved over."""

import base64

from flask import Flask, jsonify, request

app = Flask(__name__)
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@app.route("/flask/<path:rest>", methods=METHODS)
def echo(rest):
    response = jsonify(
        {
            "method": request.method,
            "url": request.url,
            "path": request.path,
            "script_root": request.script_root,
            "rest": rest,
            "query": list(request.args.items(multi=True)),
            "headers": list(request.headers.items()),
            "cookies": request.cookies,
            "body": base64.b64encode(request.get_data()).decode(),
        }
    )
    response.status_code = int(request.args.get("status", "200"))
    response.set_cookie("a", "1")
    response.set_cookie("b", "2", path="/flask")
    response.headers.add("x-out", "one")
    response.headers.add("x-out", "two")
    return response
