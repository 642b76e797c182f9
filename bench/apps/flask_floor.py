"""The Flask floor: a Flask app answering POST /predict with constant JSON, never reading the body."""
from flask import Flask, jsonify


def create_app() -> Flask:
    app = Flask(__name__)

    @app.post("/predict")
    def predict():
        return jsonify({"churn_probability": 0.5, "churn": True, "model_version": "constant"})

    return app
