"""The offer rules, each said once: who is worth an offer, who may get one now (rules.blocked), what it says."""
