"""The baseline a course graduate would write: ML Zoomcamp's predict.py (Flask, dv.transform +
predict_proba, no validation), with the model path from MODEL_PATH instead of the working directory."""
import os
import pickle

from flask import Flask, jsonify, request


def create_app() -> Flask:
    with open(os.environ.get("MODEL_PATH", "models/model.bin"), "rb") as f_in:
        dv, model = pickle.load(f_in)
    app = Flask("churn")

    @app.route("/predict", methods=["POST"])
    def predict():
        customer = request.get_json()
        X = dv.transform([customer])
        y_pred = model.predict_proba(X)[0, 1]
        churn = y_pred >= 0.5
        return jsonify({"churn_probability": float(y_pred), "churn": bool(churn)})

    return app
