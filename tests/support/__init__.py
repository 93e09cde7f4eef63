"""Helpers shared by the tests: builders for pages and feeds from seed-format articles."""
