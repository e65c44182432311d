"""The makers of summaries behind one interface: the offline extractive one, and an
OpenAI-compatible chat-completions server (:mod:`kizashi.services.llm`). A provider
gets the inputs (title, text, language of each), a budget in characters and the output
language, and gives statements citing the inputs by index; it raises
:class:`~kizashi.services.llm.LLMError` when it has no usable answer, and the summary
service falls back to the extractive one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from kizashi.services import llm
from kizashi.text import summarise as ex

Progress = Callable[[int, int], None]
#: What an LLM reads of each item of a collection: its best sentences, this many characters.
COLLECTION_PER_ITEM = 300


@dataclass(frozen=True)
class Input:
    """One article as a provider reads it."""

    id: str
    digest: str  # changes when the item's title, text, time or tags do
    title: str
    text: str
    published: str | None
    language: str | None


@dataclass(frozen=True)
class Made:
    statements: list[tuple[str, tuple[int, ...]]]  # text, indexes of the inputs it cites
    points: list[tuple[str, tuple[int, ...]]]
    considered: int
    model: str | None = None
    note: str | None = None
    language: str | None = None


class Provider(Protocol):
    name: str

    def version(self, kind: str, language: str) -> str:
        """What the stored summary records as its method or template version."""
        ...

    def summarise(
        self,
        kind: str,
        inputs: Sequence[Input],
        budget: int,
        language: str,
        progress: Progress | None = None,
    ) -> Made:
        """Raises :class:`~kizashi.services.llm.LLMError` when it has no usable answer;
        ``progress(done, total)`` as it goes."""
        ...


class Extractive:
    """Sentences chosen from the inputs themselves (:mod:`kizashi.text.summarise`)."""

    name = "extractive"

    def version(self, kind: str, language: str) -> str:  # noqa: ARG002 - one method
        return "textrank-1"

    def summarise(
        self,
        kind: str,  # noqa: ARG002 - one method for an item and a collection
        inputs: Sequence[Input],
        budget: int,
        language: str,
        progress: Progress | None = None,
    ) -> Made:
        sources = [ex.Source(i.title, i.text, i.id) for i in inputs]
        x = ex.summarise(sources, budget, progress)
        own = language_of(list(inputs))
        note = None
        if own and own != language:
            note = "Sentences are in the articles' language: translation needs an LLM provider."
        return Made(
            [(s.text, (s.source,)) for s in x.sentences],
            [(s.text, (s.source,)) for s in x.points()],
            x.considered,
            note=note,
            language=own,
        )


class OpenAICompatible:
    """A chat-completions server writes the summary (:mod:`kizashi.services.llm`); the
    extractive pass picks what it reads of each article in a collection (the map step)."""

    name = "openai"

    def __init__(self, config: llm.LLMConfig, transport: Any = None) -> None:
        self.config = config
        self.transport = transport

    def _template(self, kind: str, language: str) -> llm.Template:
        return llm.template(f"{kind}.{language}.txt", self.config.prompts_dir)

    def version(self, kind: str, language: str) -> str:
        return self._template(kind, language).version

    def summarise(
        self,
        kind: str,
        inputs: Sequence[Input],
        budget: int,
        language: str,
        progress: Progress | None = None,
    ) -> Made:
        instructions = self._template(kind, language).fill(budget=str(budget))
        room = max(self.config.context_chars - len(instructions), 1000)
        considered = 0
        if kind == "article":
            i = inputs[0]
            parts, cut = llm.fit([f"{i.title}\n\n{i.text}"], room)
        else:
            blocks = []
            for n, i in enumerate(inputs, 1):
                x = ex.summarise([ex.Source(i.title, i.text, i.id)], COLLECTION_PER_ITEM)
                considered += x.considered
                if progress is not None:
                    progress(n, len(inputs) + 1)
                when = f" ({i.published[:10]})" if i.published else ""
                blocks.append(f"[{n}] {i.title}{when}\n{x.text}\n\n")
            parts, cut = llm.fit(blocks, room)
        client = llm.ChatClient(self.config, self.transport)
        try:
            text = client.complete(instructions, "".join(parts))
        finally:
            client.close()
        answer = llm.read_answer(
            text, sources=len(inputs), language=language, cite=kind == "collection"
        )
        if progress is not None:
            progress(len(inputs) + 1, len(inputs) + 1)
        note = None
        if cut:
            note = "The inputs were longer than the model's context: the model read a part."
        return Made(
            answer.statements,
            answer.points,
            considered,
            model=self.config.model,
            note=note,
            language=language,
        )


def language_of(inputs: list[Input]) -> str | None:
    langs = {i.language for i in inputs if i.language}
    return langs.pop() if len(langs) == 1 else None
