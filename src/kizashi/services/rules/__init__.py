"""Auto-tagging rules: stored, tested, run on every incoming item and over stored ones.

- **Incoming** (feeds, the API, the UI, the CLI, imports): :meth:`.matching.Matcher.apply_in`
  runs inside the transaction that stores or edits the item, after extraction, so an item
  is never visible without the tags its rules give it. The rules are compiled once and
  kept until one changes (:mod:`kizashi.text.rulematch`).
- **Stored** ("apply to existing", "test"): the search index finds the matches
  (:mod:`kizashi.search.rules`, same meaning); regular expressions and fuzzy matches are
  then checked on the candidates' text.
- **Provenance**: every tag a rule adds records the rule and its version; deleting a rule
  can take its tags away; a tag an analyst removed is never put back by a rule.
- **TLP**: a rule may raise an item's marking, never lower it.
- **Acting** on matches (tags, TLP, collections, relationships, events, suggestions) is
  :mod:`.actions`, shared by both paths.

The package, a module per job:

- :mod:`.definitions`: storing rules (versions, YAML export and import);
- :mod:`.ruleset`: the enabled rules compiled, kept until one changes;
- :mod:`.matching`: which items a rule matches, incoming or stored, and a rule's test;
- :mod:`.actions`: what a rule does to the items it matched;
- :mod:`.runs`: applying rules to stored items, with progress;
- :mod:`.learning`: learned tag suggestions, and the analyst's decisions on them;
- :mod:`.history`: the events rules raised and the provenance of the tags they gave;
- :mod:`.service`: :class:`RuleService`, the one object callers hold.
"""

from kizashi.services.rules.matching import item_of
from kizashi.services.rules.service import RuleService
from kizashi.services.rules.views import RuleView, RunView, Sample, TestResult

__all__ = ["RuleService", "RuleView", "RunView", "Sample", "TestResult", "item_of"]
