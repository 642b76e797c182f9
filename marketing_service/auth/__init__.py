"""Who may do what (DESIGN §11): users and their roles, API tokens, password hashing, sign-in throttling."""
