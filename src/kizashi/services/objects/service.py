"""The object service callers hold: one object over reading, creating and editing."""

from __future__ import annotations

from kizashi.services.common import Context
from kizashi.services.objects.bulk import BulkTagger
from kizashi.services.objects.creating import ObjectCreator
from kizashi.services.objects.editing import ObjectEditor
from kizashi.services.objects.hooks import Hooks
from kizashi.services.objects.reading import ObjectReader
from kizashi.services.tags import TagService


class ObjectService:
    def __init__(self, ctx: Context, tags: TagService) -> None:
        self.ctx = ctx
        self.tags = tags
        #: Extraction and rules, set by the application (see :class:`Hooks`).
        self.hooks = Hooks()
        self.reader = ObjectReader(ctx)
        self.creator = ObjectCreator(ctx, tags, self.hooks)
        self.editor = ObjectEditor(ctx, tags, self.hooks)
        self.bulk = BulkTagger(ctx, self.reader, tags)

        # What the other services, the API, the pages and the CLI call.
        self.get = self.reader.get
        self.get_many = self.reader.get_many
        self.list = self.reader.list
        self.history = self.reader.history
        self.create = self.creator.create
        self.create_in = self.creator.create_in
        self.create_many = self.creator.create_many
        self.create_many_in = self.creator.create_many_in
        self.store_validated_in = self.creator.store_validated_in
        self.update = self.editor.update
        self.update_in = self.editor.update_in
        self.revoke = self.editor.revoke
        self.revoke_in = self.editor.revoke_in
        self.restore = self.editor.restore
        self.retag = self.bulk.retag
