"""A shadow challenger (DESIGN §13): its probabilities pulled from churn, compared with the champion on labelled rows."""
