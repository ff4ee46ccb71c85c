"""Compose files and projects: the Compose Specification model and its convergence, a client of the Engine API only."""
