"""Low-income population dynamic monitoring pipeline (低收入人口动态监测)."""

__version__ = "0.1.0"
