"""Shadow scoring (DESIGN §13): the challenger named by the registry's SHADOW scores every answer, off the answer."""
from churn_service.shadow.scoring import Challenger, ShadowScoring
from churn_service.shadow.store import ShadowStore

__all__ = ["Challenger", "ShadowScoring", "ShadowStore"]
