"""A key server (`consilience keyserver`): one Shamir share of the OPRF key, nothing else.

``create_app(settings)`` builds the FastAPI application; ``run`` serves it with uvicorn.
Laid out like the escrow server: ``settings`` (configuration), ``limits`` (its budgets),
``share`` (the share file in force), ``state`` (what handlers share), ``evaluate`` (the
routes), ``app`` and ``server``. See PROTOCOL.md §5.
"""

from consilience.services.keyserver.app import create_app
from consilience.services.keyserver.server import run
from consilience.services.keyserver.settings import Settings

__all__ = ["Settings", "create_app", "run"]
