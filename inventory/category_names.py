"""Category keys by every name a person may write for them: the key, the Korean and
English names and the aliases of the service-life table, compared without case, spaces,
underscores, hyphens or dots (`스위치`, `Backbone switch`, `행정망 백본`, `backbone_switch`).

The configuration (`inventory.load`) and the spreadsheet importer read categories through
the same index, so that a name one accepts the other accepts too.
"""
from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Mapping

from inventory.model import Category


def normalise(text: str) -> str:
    """Lower case, full-width folded, without spaces, underscores, hyphens or dots."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"[\s_\-.·]", "", folded)


class CategoryIndex:
    """Category keys by every name written for them, normalised."""

    def __init__(self, categories: Mapping[str, Category]):
        self.keys: dict[str, str] = {}
        for category in categories.values():
            for label in (category.key, category.name_ko, category.name_en, *category.aliases):
                self.keys.setdefault(normalise(label), category.key)
        self.labels = sorted({c.name_ko for c in categories.values()} | set(categories))

    def find(self, written: str) -> str | None:
        """The key `written` names, or None."""
        return self.keys.get(normalise(written))

    def hint(self, written: str) -> str:
        """' (did you mean 'x'?)' for the closest key or Korean name, or ''."""
        close = difflib.get_close_matches(written, self.labels, n=1, cutoff=0.5)
        return f" (did you mean {close[0]!r}?)" if close else ""
