"""`python -m marketing_service users|tokens …`: see auth/cli.py."""
import sys

from marketing_service.auth.cli import main

if __name__ == "__main__":
    sys.exit(main())
