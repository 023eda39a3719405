"""Standard tier: categorical-only tables from the Penn Machine Learning Benchmarks (PMLB).

PMLB ships each table as a tab-separated ``<name>.tsv.gz`` with every value label-encoded to an
integer and the class in a column ``target``; the files are read from the repository's last
commit before its Git-LFS move (the data did not change since). Every column is declared
categorical: the integer codes become the category labels (as strings), the source's own
order of codes is kept. PMLB dropped no row of these two tables; mushroom's missing
``stalk-root`` values are a level of their own ("?" in UCI's file), as PMLB encodes them.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pandas as pd

from imputebench.datasets.base import register_dataset
from imputebench.datasets.schema import CATEGORICAL
from imputebench.datasets.standard import StandardDataset, github_file
from imputebench.datasets.uci import typed_in_order

_PMLB = ("EpistasisLab/pmlb", "253138e2aa4098734fb9154ec3570fbcad5f4197")
_LICENCE = "CC BY 4.0 (UCI original); PMLB repository MIT"

_MUSHROOM = ["cap-shape", "cap-surface", "cap-color", "bruises?", "odor", "gill-attachment",
             "gill-spacing", "gill-size", "gill-color", "stalk-shape", "stalk-root",
             "stalk-surface-above-ring", "stalk-surface-below-ring", "stalk-color-above-ring",
             "stalk-color-below-ring", "veil-type", "veil-color", "ring-number", "ring-type",
             "spore-print-color", "population", "habitat", "target"]
_NURSERY = ["parents", "has_nurs", "form", "children", "housing", "finance", "social", "health",
            "target"]


class _PmlbCategorical(StandardDataset):
    """A PMLB table whose every column is categorical (label-encoded integers)."""

    target = "target"
    licence = _LICENCE

    def parse(self, paths: list[Path]) -> pd.DataFrame:
        frame = pd.read_csv(paths[0], sep="\t", dtype=str, keep_default_na=False)
        return typed_in_order(frame, self.kinds, self.name)


def _file(name: str, sha256: str):
    return github_file(*_PMLB, f"datasets/{name}/{name}.tsv.gz", f"pmlb/{name}/{name}.tsv.gz",
                       sha256)


@register_dataset
class Mushroom(_PmlbCategorical):
    """UCI Mushroom (Schlimmer 1981): 22 categorical descriptions of 8,124 gilled mushrooms and
    whether each is edible or poisonous (balanced: 52 / 48 %)."""

    name = "mushroom"
    description = ("Mushroom: 8,124 x 22 categorical (label-encoded) + target edible / "
                   "poisonous (balanced); no real NaN (stalk-root '?' is a level)")
    aliases = ("mushroom (Pathare et al. 2023)",)
    source = "UCI id 73 / OpenML 24; EpistasisLab/pmlb@253138e2 datasets/mushroom/mushroom.tsv.gz"
    citation = ("Schlimmer, J. (1981). Mushroom [Dataset]. UCI Machine Learning Repository. "
                "doi:10.24432/C5959T")
    files = (_file("mushroom",
                   "d8daa6822f14604f8567a5a8e5dfa93db6c383cf01aac01812c0ebdce3ab158a"),)
    kinds: ClassVar[dict[str, str]] = {c: CATEGORICAL for c in _MUSHROOM}


@register_dataset
class Nursery(_PmlbCategorical):
    """UCI Nursery (Olave, Rajkovic & Bohanec 1989): 8 categorical attributes of nursery-school
    applications and the ranking of the application (unbalanced classes)."""

    name = "nursery"
    description = ("Nursery: 12,958 x 8 categorical (label-encoded) + target ranking "
                   "(4 classes, one of them 2.5 %); no real NaN")
    aliases = ("nursery (Pathare et al. 2023)",)
    source = "UCI id 76; EpistasisLab/pmlb@253138e2 datasets/nursery/nursery.tsv.gz"
    citation = ("Rajkovic, V. (1989). Nursery [Dataset]. UCI Machine Learning Repository. "
                "doi:10.24432/C5P88W")
    files = (_file("nursery",
                   "5e56c09fc2c6a983c031879fe7de5fc945c44db2ca65f10fc5f5b6fc770489ff"),)
    kinds: ClassVar[dict[str, str]] = {c: CATEGORICAL for c in _NURSERY}
