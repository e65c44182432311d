"""Tables. Alembic migrations under ``migrations/`` create exactly these.

Objects are STIX JSON keyed by STIX id, with an integer surrogate key (``pk``) that
the link tables use: integer joins keep the tag indexes small and fast. STIX
timestamps are stored as their fixed-width text (``2024-01-01T00:00:00.000Z``),
which sorts correctly and round-trips exactly on both SQLite and PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

TS = sa.String(32)

users = sa.Table(
    "users",
    metadata,
    sa.Column("pk", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("identity_id", sa.String(64), nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", TS, nullable=False),
    # A UI session carries the epoch it was issued under; logging out or changing the
    # password raises it, which ends every session of the user at once.
    sa.Column("session_epoch", sa.Integer, nullable=False, server_default="0"),
    # UI preferences (model/preferences.py); NULL: follow the browser.
    sa.Column("language", sa.String(8)),
    sa.Column("time_zone", sa.String(64)),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("pk", sa.Integer, primary_key=True),
    sa.Column("user_pk", sa.Integer, sa.ForeignKey("users.pk", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("last_used_at", TS),
    sa.Column("revoked_at", TS),
)

objects = sa.Table(
    "objects",
    metadata,
    sa.Column("pk", sa.Integer, primary_key=True),
    sa.Column("id", sa.String(100), nullable=False, unique=True),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("value", sa.Text),
    sa.Column("created", TS),
    sa.Column("modified", TS),
    sa.Column("published", TS),
    sa.Column("tlp", sa.String(16)),
    sa.Column("revoked", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("created_by", sa.Integer, sa.ForeignKey("users.pk", ondelete="SET NULL")),
    # The marking came from the reports that mention the object (extraction), not from
    # anyone marking it: it falls as less restricted reports mention it.
    sa.Column("tlp_derived", sa.Boolean, nullable=False, server_default=sa.false()),
    # An imported object's labels that are no tags (Kizashi could not hold them: a
    # taxonomy not enabled, a spelling no tag has), as a JSON list: they are exported as
    # they came, while a label whose tag an analyst removed is not.
    sa.Column("loose_labels", sa.Text),
    # The change that made the current version: create, update, revoke or restore.
    sa.Column("action", sa.String(16), nullable=False, server_default="create"),
    sa.Column("updated_by", sa.Integer, sa.ForeignKey("users.pk", ondelete="SET NULL")),
    sa.Column("updated_at", TS, nullable=False),
    # First stored (migration 0021): the pk's order, as lists show it; no edit moves it.
    sa.Column("stored_at", TS),
    sa.Index("ix_objects_type_pk", "type", "pk"),
    sa.Index("ix_objects_value", "value"),
    sa.Index("ix_objects_modified", "modified"),
    # What a reader may not read (TLP:RED, mostly) is found through it: few rows.
    sa.Index("ix_objects_tlp", "tlp"),
)

# Superseded versions: the current one lives in ``objects``, so a create writes one row.
object_versions = sa.Table(
    "object_versions",
    metadata,
    sa.Column("pk", sa.Integer, primary_key=True),
    sa.Column(
        "object_pk", sa.Integer, sa.ForeignKey("objects.pk", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("modified", TS),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("changed_by", sa.Integer, sa.ForeignKey("users.pk", ondelete="SET NULL")),
    sa.Column("changed_at", TS, nullable=False),
    sa.UniqueConstraint("object_pk", "version"),
)

tags = sa.Table(
    "tags",
    metadata,
    sa.Column("pk", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(255), nullable=False, unique=True),
    sa.Column("namespace", sa.String(100)),
    sa.Column("predicate", sa.String(255)),
    sa.Column("value", sa.String(255)),
    sa.Column("colour", sa.String(7)),
    sa.Column("description", sa.Text),
    sa.Column("created_at", TS, nullable=False),
    # Defined on purpose (vocabulary everyone sees), not only made by tagging an object:
    # a tag of the latter kind is shown to a reader only while they may read an object
    # that carries it, so that a name on TLP:RED objects alone is told to no one else.
    sa.Column("defined", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index("ix_tags_namespace", "namespace"),
)

object_tags = sa.Table(
    "object_tags",
    metadata,
    sa.Column("tag_pk", sa.Integer, sa.ForeignKey("tags.pk", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "object_pk", sa.Integer, sa.ForeignKey("objects.pk", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("added_by", sa.Integer, sa.ForeignKey("users.pk", ondelete="SET NULL")),
    sa.Column("added_at", TS, nullable=False),
    # Set when a rule added the tag: which rule, at which version (migration 0005).
    sa.Column("rule_pk", sa.Integer),
    sa.Column("rule_version", sa.Integer),
    sa.Index("ix_object_tags_object_pk", "object_pk"),
    sa.Index("ix_object_tags_rule_pk", "rule_pk"),
)

relationships = sa.Table(
    "relationships",
    metadata,
    sa.Column(
        "object_pk", sa.Integer, sa.ForeignKey("objects.pk", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("relationship_type", sa.String(100), nullable=False),
    sa.Column("source_ref", sa.String(100), nullable=False),
    sa.Column("target_ref", sa.String(100), nullable=False),
    sa.Index("ix_relationships_source_ref", "source_ref"),
    sa.Index("ix_relationships_target_ref", "target_ref"),
)

# What an object points at through its own *_ref(s) properties (a report's object_refs…).
object_refs = sa.Table(
    "object_refs",
    metadata,
    sa.Column(
        "source_pk", sa.Integer, sa.ForeignKey("objects.pk", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("property", sa.String(64), primary_key=True),
    sa.Column("target_ref", sa.String(100), primary_key=True),
    # Who refers to an object, newest first (its page, its graph): migration 0020.
    sa.Index("ix_object_refs_target_ref_source_pk", "target_ref", "source_pk"),
)

taxonomies = sa.Table(
    "taxonomies",
    metadata,
    sa.Column("namespace", sa.String(100), primary_key=True),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("changed_at", TS, nullable=False),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("pk", sa.Integer, primary_key=True),
    sa.Column("at", TS, nullable=False),
    sa.Column("user_pk", sa.Integer, sa.ForeignKey("users.pk", ondelete="SET NULL")),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("target", sa.String(255)),
    sa.Column("detail", sa.Text),
)

# -- feeds ------------------------------------------------------------------------

feeds = sa.Table(
    "feeds",
    metadata,
    sa.Column("pk", sa.Integer, primary_key=True),
    sa.Column("url", sa.Text, nullable=False, unique=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("site_url", sa.Text),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("interval_seconds", sa.Integer, nullable=False, server_default="1800"),
    sa.Column("full_text", sa.Boolean, nullable=False, server_default=sa.false()),
    # JSON lists/objects as text: tags applied to every item, extra request headers.
    sa.Column("default_tags", sa.Text, nullable=False, server_default="[]"),
    sa.Column("tlp", sa.String(16)),
    sa.Column("language", sa.String(16)),
    sa.Column("headers", sa.Text, nullable=False, server_default="{}"),
    # The STIX identity that stands for this source (created_by_ref of its reports).
    sa.Column("identity_id", sa.String(100), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("created_by", sa.Integer, sa.ForeignKey("users.pk", ondelete="SET NULL")),
    # Poll state.
    sa.Column("etag", sa.Text),
    sa.Column("last_modified", sa.Text),
    sa.Column("last_polled_at", TS),
    sa.Column("last_success_at", TS),
    sa.Column("last_status", sa.Integer),
    sa.Column("last_error", sa.Text),
    # What kind of failure it was (kizashi.ingest.fetch.FetchError.kind, not_feed, ...).
    sa.Column("last_error_kind", sa.String(16)),
    sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_poll_at", TS),
    sa.Column("polling_since", TS),
    sa.Column("items_seen", sa.Integer, nullable=False, server_default="0"),
    sa.Column("items_stored", sa.Integer, nullable=False, server_default="0"),
    # What the URL serves: "rss" (RSS, Atom, RDF, JSON Feed) or "misp" (a MISP feed).
    sa.Column("kind", sa.String(16), nullable=False, server_default="rss"),
    sa.Index("ix_feeds_next_poll_at", "next_poll_at"),
)

# Every item a feed has shown, and the report it became: the dedupe record.
feed_items = sa.Table(
    "feed_items",
    metadata,
    sa.Column("pk", sa.Integer, primary_key=True),
    sa.Column("feed_pk", sa.Integer, sa.ForeignKey("feeds.pk", ondelete="CASCADE"), nullable=False),
    sa.Column("guid", sa.String(512), nullable=False),
    sa.Column("url", sa.Text),
    sa.Column("canonical_url", sa.String(1024)),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column(
        "object_pk", sa.Integer, sa.ForeignKey("objects.pk", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("first_seen", TS, nullable=False),
    sa.Column("last_seen", TS, nullable=False),
    # A MISP feed's event: its timestamp in the manifest when it was last imported.
    sa.Column("version", sa.String(32)),
    sa.UniqueConstraint("feed_pk", "guid"),
    sa.Index("ix_feed_items_canonical_url", "canonical_url"),
    sa.Index("ix_feed_items_content_hash", "content_hash"),
    sa.Index("ix_feed_items_object_pk", "object_pk"),
)

# An article's full text beside its report: the display HTML and the page as fetched.
article_content = sa.Table(
    "article_content",
    metadata,
    sa.Column(
        "object_pk", sa.Integer, sa.ForeignKey("objects.pk", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("html", sa.Text),
    sa.Column("raw_html", sa.LargeBinary),
    sa.Column("fetched_at", TS),
    sa.Column("extraction_error", sa.Text),
)

# Where a report mentions an indicator or identifier: one row per report and value,
# with the sentence around its first mention. Lookups ("known or not, and where")
# and indicator pages read this table; ``object_pk`` is the STIX object the value
# became (null for values STIX has no object for, such as ATT&CK tactics).
mentions = sa.Table(
    "mentions",
    metadata,
    sa.Column("pk", sa.Integer, primary_key=True),
    sa.Column(
        "report_pk", sa.Integer, sa.ForeignKey("objects.pk", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("object_pk", sa.Integer, sa.ForeignKey("objects.pk", ondelete="SET NULL")),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("occurrences", sa.Integer, nullable=False, server_default="1"),
    sa.Column("context", sa.Text, nullable=False),
    sa.Column("context_start", sa.Integer, nullable=False),
    sa.Column("context_end", sa.Integer, nullable=False),
    sa.Column("flags", sa.String(255)),
    sa.Column("seen_at", TS, nullable=False),
    sa.Column("source", sa.String(255), nullable=False),
    sa.UniqueConstraint("report_pk", "kind", "value"),
    sa.Index("ix_mentions_value", "value"),
    # An object's newest mentions first (its page, "seen with"): migration 0020.
    sa.Index("ix_mentions_object_pk_seen_at", "object_pk", "seen_at"),
)

# The values an indicator's STIX pattern compares for equality (model/patterns.py), so
# that a lookup of any of them, and a report that mentions one, meets the indicator.
# Written with the indicator's row, replaced with each new version.
pattern_values = sa.Table(
    "pattern_values",
    metadata,
    sa.Column(
        "object_pk", sa.Integer, sa.ForeignKey("objects.pk", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("value", sa.Text, nullable=False),
    sa.PrimaryKeyConstraint("object_pk", "value"),
    sa.Index("ix_pattern_values_value", "value"),
)

# -- search -----------------------------------------------------------------------

# What the full-text index must look at again: written by triggers (migration 0004) in
# the transaction that changes an object or its tags. ``txid`` is the
# writing transaction on PostgreSQL (null on SQLite, where the key is ``pk``).
search_outbox = sa.Table(
    "search_outbox",
    metadata,
    sa.Column("pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    sa.Column("object_pk", sa.Integer, nullable=False),
    sa.Column("txid", sa.BigInteger),
    sa.Column("at", sa.DateTime, nullable=False, server_default=sa.text("CURRENT_TIMESTAMP")),
    sa.Index("ix_search_outbox_txid", "txid"),
    sqlite_autoincrement=True,
)

# Each index that follows the outbox (one per machine or data directory) and how far it is.
search_consumers = sa.Table(
    "search_consumers",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("seen_at", TS, nullable=False),
)

saved_searches = sa.Table(
    "saved_searches",
    metadata,
    sa.Column("pk", sa.Integer, primary_key=True),
    sa.Column("user_pk", sa.Integer, sa.ForeignKey("users.pk", ondelete="CASCADE")),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("query", sa.Text, nullable=False),
    sa.Column("sort", sa.String(16), nullable=False, server_default="relevance"),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    sa.UniqueConstraint("user_pk", "name"),
)


# -- rules ------------------------------------------------------------------------

rules = sa.Table(
    "rules",
    metadata,
    sa.Column("pk", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("position", sa.Integer, nullable=False, server_default="100"),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    # The rule as data (model.rules): conditions and actions, JSON.
    sa.Column("definition", sa.Text, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    sa.Column("updated_by", sa.Integer, sa.ForeignKey("users.pk", ondelete="SET NULL")),
    # The rule set's change check (count, newest change) reads this, not the definitions.
    sa.Index("ix_rules_updated_at", "updated_at"),
)

# A tag an analyst removed from an object: no rule puts it back.
tag_suppressions = sa.Table(
    "tag_suppressions",
    metadata,
    sa.Column(
        "object_pk", sa.Integer, sa.ForeignKey("objects.pk", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("tag_pk", sa.Integer, sa.ForeignKey("tags.pk", ondelete="CASCADE"), primary_key=True),
    sa.Column("removed_by", sa.Integer, sa.ForeignKey("users.pk", ondelete="SET NULL")),
    sa.Column("removed_at", TS, nullable=False),
)

# "Apply to existing": one row per run, with its progress.
rule_runs = sa.Table(
    "rule_runs",
    metadata,
    sa.Column("pk", sa.Integer, primary_key=True),
    sa.Column("rule_pk", sa.Integer, sa.ForeignKey("rules.pk", ondelete="CASCADE")),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("total", sa.Integer, nullable=False, server_default="0"),
    sa.Column("done", sa.Integer, nullable=False, server_default="0"),
    sa.Column("matched", sa.Integer, nullable=False, server_default="0"),
    sa.Column("error", sa.Text),
    sa.Column("requested_by", sa.Integer, sa.ForeignKey("users.pk", ondelete="SET NULL")),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("finished_at", TS),
)

# Things that happened, for notifications to pick up (consumed_at set when delivered).
events = sa.Table(
    "events",
    metadata,
    sa.Column("pk", sa.Integer, primary_key=True),
    sa.Column("at", TS, nullable=False),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("object_pk", sa.Integer, sa.ForeignKey("objects.pk", ondelete="CASCADE")),
    sa.Column("rule_pk", sa.Integer, sa.ForeignKey("rules.pk", ondelete="SET NULL")),
    sa.Column("payload", sa.Text, nullable=False, server_default="{}"),
    sa.Column("consumed_at", TS),
    sa.Index("ix_events_consumed_at", "consumed_at"),
)

# What a learned model proposes for an item, until an analyst accepts or dismisses it.
tag_suggestions = sa.Table(
    "tag_suggestions",
    metadata,
    sa.Column(
        "object_pk", sa.Integer, sa.ForeignKey("objects.pk", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("tag_pk", sa.Integer, sa.ForeignKey("tags.pk", ondelete="CASCADE"), primary_key=True),
    sa.Column("rule_pk", sa.Integer, sa.ForeignKey("rules.pk", ondelete="SET NULL")),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("decided_by", sa.Integer, sa.ForeignKey("users.pk", ondelete="SET NULL")),
    sa.Column("decided_at", TS),
)

# Trained models (the tag suggester), shared by every process through the database.
models = sa.Table(
    "models",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("trained_at", TS, nullable=False),
    sa.Column("examples", sa.Integer, nullable=False),
    sa.Column("labels", sa.Integer, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
)

# Summaries, kept until their inputs change: ``key`` names what was asked (kind, subject,
# provider, language, budget), ``inputs_digest`` what it was made from (ids and versions).
summaries = sa.Table(
    "summaries",
    metadata,
    sa.Column("pk", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(64), nullable=False, unique=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("model", sa.String(200)),
    sa.Column("template_version", sa.String(200), nullable=False),
    sa.Column("inputs_digest", sa.String(64), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("created_by", sa.Integer, sa.ForeignKey("users.pk", ondelete="SET NULL")),
)

# Summaries made in the background, with their progress; the result is the summary's JSON.
summary_jobs = sa.Table(
    "summary_jobs",
    metadata,
    sa.Column("pk", sa.Integer, primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("request", sa.Text, nullable=False),
    sa.Column("done", sa.Integer, nullable=False, server_default="0"),
    sa.Column("total", sa.Integer, nullable=False, server_default="0"),
    sa.Column("result", sa.Text),
    sa.Column("error", sa.Text),
    sa.Column("requested_by", sa.Integer, sa.ForeignKey("users.pk", ondelete="SET NULL")),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("finished_at", TS),
)

# Imports in the background (POST /api/v1/import): what was asked, how far it got, and
# the report (counts per outcome and type, the problems one by one) once done.
import_jobs = sa.Table(
    "import_jobs",
    metadata,
    sa.Column("pk", sa.Integer, primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("format", sa.String(32), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("done", sa.Integer, nullable=False, server_default="0"),
    sa.Column("result", sa.Text),
    sa.Column("error", sa.Text),
    sa.Column("requested_by", sa.Integer, sa.ForeignKey("users.pk", ondelete="SET NULL")),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("finished_at", TS),
)

# Scheduled summaries ("digests"): a selection summarised every day or week, as the user
# who made it; each run is a summary job.
digests = sa.Table(
    "digests",
    metadata,
    sa.Column("pk", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("query", sa.Text, nullable=False, server_default=""),
    sa.Column("days", sa.Integer, nullable=False),
    sa.Column("every", sa.String(16), nullable=False),
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("language", sa.String(8)),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("next_run_at", TS, nullable=False),
    sa.Column("last_job_pk", sa.Integer, sa.ForeignKey("summary_jobs.pk", ondelete="SET NULL")),
    sa.Column("created_by", sa.Integer, sa.ForeignKey("users.pk", ondelete="CASCADE")),
    sa.Column("created_at", TS, nullable=False),
    sa.Index("ix_digests_next_run_at", "next_run_at"),
)
