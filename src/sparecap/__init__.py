"""Sparecap: an open exchange for spare capacity."""

__version__ = "0.1.0"
