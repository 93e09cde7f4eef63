"""monitor: watches news feeds and alerts when a development is reported as having happened."""

__version__ = "0.1.0"
