"""A SageMaker-style model server (Flask: GET /ping, POST /invocations), the baseline DLHub's paper compares with.

It serves the same no-op servable as examples/noop ("hello world"), so the benchmark compares the serving paths only.
"""
import json

from flask import Flask, Response, request

app = Flask(__name__)


@app.get("/ping")
def ping():
    return Response("", status=200)


@app.post("/invocations")
def invocations():
    body = request.get_json(force=True, silent=True)
    if body is None:
        return Response(json.dumps({"error": "body is not JSON"}), status=400, mimetype="application/json")
    return Response(json.dumps({"output": "hello world"}), status=200, mimetype="application/json")


if __name__ == "__main__":
    import logging
    import sys

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    # threaded=False: one request at a time, like a single SageMaker worker process.
    app.run(host="0.0.0.0", port=int(sys.argv[1]) if len(sys.argv) > 1 else 8080, threaded=False)
