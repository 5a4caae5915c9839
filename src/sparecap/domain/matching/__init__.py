"""Matching engine: exact optimisation of demand against spare capacity, with baselines."""
