"""circle15 service: FastAPI routers over ``geo`` and ``maps``."""
