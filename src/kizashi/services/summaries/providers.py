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

from kizashi.model.errors import Text
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
    #: A phrase for the reader about how it was made: a Text (said in the page's
    #: language where the catalogue has it) or plain English.
    note: Text | str | None = None
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
            note = Text(
                "Sentences are in the articles' language: translation needs an LLM provider."
            )
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
        own = self._template(kind, language).version
        if kind == "collection":  # a long collection is merged by a second template
            own += "+" + self._template("collection-merge", language).version
        return own

    def summarise(
        self,
        kind: str,
        inputs: Sequence[Input],
        budget: int,
        language: str,
        progress: Progress | None = None,
    ) -> Made:
        instructions = self._template(kind, language).fill(budget=str(budget))
        room = max(self.config.context_chars - len(instructions), 200)
        client = llm.ChatClient(self.config, self.transport)
        try:
            if kind == "article":
                i = inputs[0]
                parts, cut = llm.fit([f"{i.title}\n\n{i.text}"], room)
                text = client.complete(instructions, "".join(parts))
                answer = llm.read_answer(text, sources=1, language=language, cite=False)
                considered = 0
            else:
                answer, considered, cut = self._collection(
                    client, inputs, instructions, room, budget, language, progress
                )
        finally:
            client.close()
        note = None
        if cut:
            note = Text("An article was longer than the model's context: the model read a part.")
        return Made(
            answer.statements,
            answer.points,
            considered,
            model=self.config.model,
            note=note,
            language=language,
        )

    def _collection(
        self,
        client: llm.ChatClient,
        inputs: Sequence[Input],
        instructions: str,
        room: int,
        budget: int,
        language: str,
        progress: Progress | None,
    ) -> tuple[llm.Answer, int, bool]:
        """Map: each item's best sentences (extractive), numbered [n]. Reduce: one chat
        completion when they fit the context; else one per part that fits, each citing
        the same numbers, then one that merges those summaries. Every call stays within
        the context, however many items."""
        blocks = []
        considered = 0
        for n, i in enumerate(inputs, 1):
            x = ex.summarise([ex.Source(i.title, i.text, i.id)], COLLECTION_PER_ITEM)
            considered += x.considered
            if progress is not None:
                progress(n, len(inputs) + 1)
            when = f" ({i.published[:10]})" if i.published else ""
            blocks.append(f"[{n}] {i.title}{when}\n{x.text}\n\n")
        parts = llm.pack(blocks, room)
        calls = len(parts) + (1 if len(parts) > 1 else 0)
        steps = len(inputs) + calls

        def step(k: int) -> None:
            if progress is not None:
                progress(len(inputs) + k, steps)

        cut = any(len(b) > room for b in blocks)
        answers = []
        for k, part in enumerate(parts, 1):
            text = client.complete(instructions, "".join(part)[:room])
            answers.append(llm.read_answer(text, sources=len(inputs), language=language, cite=True))
            step(k)
        if len(answers) == 1:
            return answers[0], considered, cut
        merge = self._template("collection-merge", language).fill(budget=str(budget))
        partial = [
            text + "".join(f"[{n + 1}]" for n in cites) + "\n"
            for a in answers
            for text, cites in [*a.statements, *a.points]
        ]
        joined, more = llm.fit(partial, max(self.config.context_chars - len(merge), 200))
        text = client.complete(merge, "".join(joined))
        step(calls)
        final = llm.read_answer(text, sources=len(inputs), language=language, cite=True)
        return final, considered, cut or more


def language_of(inputs: list[Input]) -> str | None:
    langs = {i.language for i in inputs if i.language}
    return langs.pop() if len(langs) == 1 else None
