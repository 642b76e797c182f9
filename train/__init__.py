"""Training pipeline: Telco churn CSV -> verified (DictVectorizer, LogisticRegression) artifact."""
