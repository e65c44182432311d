"""Ingestion: fetch feeds and pages safely, parse, normalise, dedupe, extract, store."""
