"""The escrow server (`consilience serve`): accounts, entries, counting, matches.

``create_app(settings)`` builds the FastAPI application; ``run`` serves it
with uvicorn. See PROTOCOL.md §6, §8 and §9 for the rules it enforces.
"""

from consilience.services.escrow.app import create_app
from consilience.services.escrow.server import run
from consilience.services.escrow.settings import Settings

__all__ = ["Settings", "create_app", "run"]
