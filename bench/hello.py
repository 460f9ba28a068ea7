"""The ceiling for the receiver benchmark: a hello-world Flask endpoint under the same server."""

from flask import Flask

app = Flask(__name__)


@app.post("/webhooks/shopify")
def hello() -> tuple[str, int]:
    return "ok", 200
