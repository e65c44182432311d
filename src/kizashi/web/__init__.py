"""The web UI: server-rendered pages (Jinja2) with htmx; assets built from npm."""
