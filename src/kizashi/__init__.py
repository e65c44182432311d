"""Kizashi: a threat-intelligence platform that reads Japanese and English."""

__version__ = "0.1.0"
