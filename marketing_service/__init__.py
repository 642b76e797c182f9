"""Marketing service: the marketer's form and API, durable decisions and retention offers (DESIGN §5)."""
from marketing_service.app import create_app

__all__ = ["create_app"]
