"""The customer every HTTP benchmark posts: a likely churner in canonical, typed JSON."""

CUSTOMER = {
    "gender": "female", "seniorcitizen": 0, "partner": "yes", "dependents": "no", "phoneservice": "no",
    "multiplelines": "no_phone_service", "internetservice": "dsl", "onlinesecurity": "no", "onlinebackup": "yes",
    "deviceprotection": "no", "techsupport": "no", "streamingtv": "no", "streamingmovies": "no",
    "contract": "month-to-month", "paperlessbilling": "yes", "paymentmethod": "electronic_check", "tenure": 1,
    "monthlycharges": 29.85, "totalcharges": 29.85,
}
