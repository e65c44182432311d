"""Full-text search: a tantivy index derived from the database, and what keeps it there.

``documents`` turns an object into index fields through the shared analyser, ``compile``
turns a parsed query into a tantivy query, ``index`` holds the index, and ``sync`` follows
the database's outbox. Imports ``store``, ``text`` and ``model``; ``services`` imports it.
"""
