"""Drift of live traffic (DESIGN §7): the thresholds, the bins and PSI, the window shared by the workers, `/drift`."""
