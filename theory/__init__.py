"""Effective theories fitted to (or derived for) the trajectories toymodels records."""
