"""Standard tier: the classic UCI tables of the imputation literature.

Letter and spam as GAIN ships them (features only), the two wine-quality tables, abalone, breast
cancer Wisconsin (diagnostic) and Pima Indians diabetes. Reading rules, kinds and provenance as
in :mod:`imputebench.datasets.uci`: each class declares every column's kind in ``kinds``, the
source's missing cells stay ``NaN``.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from imputebench.datasets.base import register_dataset
from imputebench.datasets.errors import ImputebenchError
from imputebench.datasets.schema import CATEGORICAL
from imputebench.datasets.standard import StandardDataset, github_file
from imputebench.datasets.uci import (
    numeric_kinds,
    read_csv_strict,
    renamed_header,
    typed_in_order,
)

_UCI_LICENCE = "CC BY 4.0 (UCI); the hosting repository states no licence"
_JB = ("jbrownlee/Datasets", "d20fcb6402ae34e653d4513b00f39257bb37ed7f")
_KX = ("DeltaFloflo/knnxkde", "db5922539e078bf2fe88749d7bf57d567d71de5d")
_GAIN = ("jsyoon0823/GAIN", "ed53e6d0be14a8d4ce35eff46449d4047bcb483e")


# GAIN's letter and spam ------------------------------------------------------------------------

_LETTER = ["x_box", "y_box", "width", "high", "onpix", "x_bar", "y_bar", "x2bar", "y2bar",
           "xybar", "x2ybr", "xy2br", "x_ege", "xegvy", "y_ege", "yegvx"]
_SPAM_WORDS = ["make", "address", "all", "3d", "our", "over", "remove", "internet", "order",
               "mail", "receive", "will", "people", "report", "addresses", "free", "business",
               "email", "you", "credit", "your", "font", "000", "money", "hp", "hpl", "george",
               "650", "lab", "labs", "telnet", "857", "data", "415", "85", "technology", "1999",
               "parts", "pm", "direct", "cs", "meeting", "original", "project", "re", "edu",
               "table", "conference"]
_SPAM = ([f"word_freq_{w}" for w in _SPAM_WORDS] + [f"char_freq_{c}" for c in ";([!$#"]
         + ["capital_run_length_average", "capital_run_length_longest",
            "capital_run_length_total"])


class _GainTable(StandardDataset):
    """A GAIN table: features only (the GAIN authors removed the label), renamed to UCI names."""

    _header: ClassVar[list[str]]

    def parse(self, paths: list[Path]) -> pd.DataFrame:
        frame = renamed_header(read_csv_strict(paths[0]), self._header, list(self.kinds),
                               self.files[0].path)
        return typed_in_order(frame, self.kinds, self.name)


@register_dataset
class Letter(_GainTable):
    """UCI Letter Recognition as GAIN and HyperImpute use it: the 16 integer features (0-15) of
    ``gain/letter.csv`` without the letter label, all numeric; header ``Cat 1..`` -> UCI names
    (the UCI order, checked equal to mlbench's ``LetterRecognition``)."""

    name = "letter"
    description = "Letter recognition (GAIN): 20,000 x 16 numeric (0-15), no target, no NaN"
    aliases = ("letter (GAIN, HyperImpute, ReMasker, DiffPuter)", "letter recognition")
    source = f"UCI id 59; {_GAIN[0]}@{_GAIN[1]} data/letter.csv (label dropped by GAIN)"
    licence = _UCI_LICENCE
    citation = ("Frey, P. W., Slate, D. J. (1991). Letter recognition using Holland-style "
                "adaptive classifiers. Machine Learning 6, 161-182. UCI doi:10.24432/C5ZP40")
    files = (github_file(*_GAIN, "data/letter.csv", "gain/letter.csv",
                         "42835dcd77d1ca6f9cd57b32062683ea836d2fac741be629a76f926396280465"),)
    kinds: ClassVar[dict[str, str]] = numeric_kinds(_LETTER)
    _header = ["Cat 1", "Cat 2 "] + [f"Cat {i}" for i in range(3, 17)]  # sic: "Cat 2 "


@register_dataset
class Spam(_GainTable):
    """UCI Spambase as GAIN uses it: the 57 numeric features of ``gain/spam.csv`` without the
    spam label; header ``Cont 1..`` -> the ``spambase.names`` names (order checked equal to
    PMLB's ``spambase``)."""

    name = "spam"
    description = "Spambase (GAIN): 4,601 x 57 numeric, no target, no real NaN"
    aliases = ("spam (GAIN, ReMasker)", "spambase")
    source = f"UCI id 94; {_GAIN[0]}@{_GAIN[1]} data/spam.csv (label dropped by GAIN)"
    licence = _UCI_LICENCE
    citation = ("Hopkins, M., Reeber, E., Forman, G., Suermondt, J. (1999). Spambase "
                "[Dataset]. UCI Machine Learning Repository. doi:10.24432/C53G6X")
    files = (github_file(*_GAIN, "data/spam.csv", "gain/spam.csv",
                         "0097a29db5e48ecb268afd175d4f0b603f3cd16d000ca43328ca8ce739070938"),)
    kinds: ClassVar[dict[str, str]] = numeric_kinds(_SPAM)
    _header = [f"Cont {i}" for i in range(1, 58)]


# Wine quality ----------------------------------------------------------------------------------

# The UCI header; the column names put "_" for " ".
WINE_HEADER = ["fixed acidity", "volatile acidity", "citric acid", "residual sugar", "chlorides",
               "free sulfur dioxide", "total sulfur dioxide", "density", "pH", "sulphates",
               "alcohol", "quality"]


class _WineQuality(StandardDataset):
    """UCI Wine Quality, one colour: 11 physico-chemical measures + the sensory ``quality``
    score (0-10; 3-9 occur), kept numeric as in its regression task and in kNNxKDE/ReMasker.
    File: the kNNxKDE copy of the UCI CSV (``sep=';'``); names get ``_`` for spaces."""

    licence = _UCI_LICENCE
    citation = ("Cortez, P., Cerdeira, A., Almeida, F., Matos, T., Reis, J. (2009). Modeling "
                "wine preferences by data mining from physicochemical properties. Decision "
                "Support Systems 47(4), 547-553. UCI doi:10.24432/C56S3T")
    target = "quality"
    kinds: ClassVar[dict[str, str]] = numeric_kinds([c.replace(" ", "_") for c in WINE_HEADER])

    def parse(self, paths: list[Path]) -> pd.DataFrame:
        frame = renamed_header(read_csv_strict(paths[0], sep=";"), WINE_HEADER, list(self.kinds),
                               self.files[0].path)
        return typed_in_order(frame, self.kinds, self.name)


@register_dataset
class WineRed(_WineQuality):
    __doc__ = _WineQuality.__doc__
    name = "wine_red"
    description = "Red wine quality: 1,599 x 11 numeric + quality (target, numeric); no NaN"
    aliases = ("wine red (kNNxKDE, ReMasker)", "winequality-red")
    source = f"UCI id 186; {_KX[0]}@{_KX[1]} data/wine_red.csv"
    files = (github_file(*_KX, "data/wine_red.csv", "knnxkde/wine_red.csv",
                         "4a402cf041b025d4566d954c3b9ba8635a3a8a01e039005d97d6a710278cf05e"),)


@register_dataset
class WineWhite(_WineQuality):
    __doc__ = _WineQuality.__doc__
    name = "wine_white"
    description = "White wine quality: 4,898 x 11 numeric + quality (target, numeric); no NaN"
    aliases = ("wine white (kNNxKDE, ReMasker)", "winequality-white")
    source = f"UCI id 186; {_KX[0]}@{_KX[1]} data/wine_white.csv"
    files = (github_file(*_KX, "data/wine_white.csv", "knnxkde/wine_white.csv",
                         "76c3f809815c17c07212622f776311faeb31e87610d52c26d87d6e361b169836"),)


# Abalone, breast (diagnostic), Pima ------------------------------------------------------------

ABALONE_MEASURES = ["length", "diameter", "height", "whole_weight", "shucked_weight",
                    "viscera_weight", "shell_weight"]


@register_dataset
class Abalone(StandardDataset):
    """UCI Abalone, the full table: ``sex`` (M/F/I) categorical, 7 numeric measurements and
    ``rings`` (numeric target; age = rings + 1.5). File: ``jbrownlee/abalone.csv`` = UCI
    ``abalone.data`` (equal to ``knnxkde/abalone.csv`` value for value)."""

    name = "abalone"
    description = ("Abalone: 4,177 x 8 (7 numeric, sex categorical) + rings (target, numeric); "
                   "no real NaN")
    aliases = ("abalone (kNNxKDE, full table)",)
    source = f"UCI id 1; {_JB[0]}@{_JB[1]} abalone.csv"
    licence = _UCI_LICENCE
    citation = ("Nash, W. J., Sellers, T. L., Talbot, S. R., Cawthorn, A. J., Ford, W. B. "
                "(1994). The population biology of abalone (Haliotis species) in Tasmania. "
                "Sea Fisheries Division, Technical Report 48. UCI doi:10.24432/C55C7W")
    target = "rings"
    files = (github_file(*_JB, "abalone.csv", "jbrownlee/abalone.csv",
                         "eb2de13be807e9bb9ec4128b9c89b98ab23d7739121cfd17b7dde69b46ba7bf6"),)
    kinds: ClassVar[dict[str, str]] = {"sex": CATEGORICAL,
                                       **numeric_kinds([*ABALONE_MEASURES, "rings"])}

    def parse(self, paths: list[Path]) -> pd.DataFrame:
        frame = read_csv_strict(paths[0], header=None, names=list(self.kinds))
        return typed_in_order(frame, self.kinds, self.name)


WDBC_FEATURES = [f"{f}_{s}" for s in ("mean", "se", "worst")
                 for f in ("radius", "texture", "perimeter", "area", "smoothness", "compactness",
                           "concavity", "concave_points", "symmetry", "fractal_dimension")]


@register_dataset
class BreastDiagnostic(StandardDataset):
    """UCI Breast Cancer Wisconsin (Diagnostic), ``wdbc.data`` via ``knnxkde/breast.csv``: the
    patient ID is dropped, ``diagnosis`` (M/B) is the categorical target and the 30 features
    (mean, standard error and worst of 10 nucleus measures, in the UCI order) are numeric.
    (The bundled ``breast_cancer`` is scikit-learn's copy of the same table.)"""

    name = "breast"
    description = ("Breast cancer Wisconsin (diagnostic): 569 x 30 numeric + diagnosis M/B "
                   "(target); no real NaN")
    aliases = ("breast (kNNxKDE, TabCSDI breastD)", "wdbc", "breast cancer diagnostic")
    source = f"UCI id 17; {_KX[0]}@{_KX[1]} data/breast.csv (= wdbc.data)"
    licence = _UCI_LICENCE
    citation = ("Street, W. N., Wolberg, W. H., Mangasarian, O. L. (1993). Nuclear feature "
                "extraction for breast tumor diagnosis. Proc. SPIE 1905, 861-870. UCI "
                "doi:10.24432/C5DW2B")
    target = "diagnosis"
    files = (github_file(*_KX, "data/breast.csv", "knnxkde/breast.csv",
                         "d606af411f3e5be8a317a5a8b652b425aaf0ff38ca683d5327ffff94c3695f4a"),)
    kinds: ClassVar[dict[str, str]] = {"diagnosis": CATEGORICAL, **numeric_kinds(WDBC_FEATURES)}

    def parse(self, paths: list[Path]) -> pd.DataFrame:
        frame = read_csv_strict(paths[0], header=None, names=["id", *self.kinds])
        return typed_in_order(frame.drop(columns="id"), self.kinds, self.name)


_PIMA = ["pregnant", "glucose", "pressure", "triceps", "insulin", "mass", "pedigree", "age"]
_PIMA_IMPOSSIBLE_ZEROS = ["glucose", "pressure", "triceps", "insulin", "mass"]


@register_dataset
class Pima(StandardDataset):
    """Pima Indians Diabetes (NIDDK), with mlbench's names and its ``pos``/``neg`` labels.

    By default the real-missing version, mlbench's ``PimaIndiansDiabetes2``: the physiologically
    impossible zeros of glucose, pressure, triceps, insulin and mass are missing (652 cells).
    File choice: the raw UCI file ``jbrownlee/pima-indians-diabetes.csv`` (zeros as recorded,
    class 0/1), with those zeros recoded here. The data directory's ``mlbench/*.csv`` are local
    conversions of R ``.rda`` files with no public URL serving their bytes, so they cannot be a
    checksummed download; the tests check the recoded table equals ``PimaIndiansDiabetes2.csv``
    and the raw one ``PimaIndiansDiabetes.csv``, cell for cell.

    Parameters
    ----------
    zeros_as_missing : bool
        Recode the impossible zeros as missing (default); ``False`` keeps the zeros as recorded.
    """

    name = "pima"
    description = ("Pima Indians diabetes: 768 x 8 numeric + diabetes pos/neg (target); 652 "
                   "cells really missing (impossible zeros)")
    aliases = ("diabetes (Pima)", "pima indians diabetes", "PimaIndiansDiabetes2")
    source = f"NIDDK (formerly UCI); {_JB[0]}@{_JB[1]} pima-indians-diabetes.csv"
    licence = "public (NIDDK, formerly UCI); the hosting repository states no licence"
    citation = ("Smith, J. W., Everhart, J. E., Dickson, W. C., Knowler, W. C., Johannes, R. S. "
                "(1988). Using the ADAP learning algorithm to forecast the onset of diabetes "
                "mellitus. Proc. Annual Symposium on Computer Applications in Medical Care, "
                "261-265.")
    target = "diabetes"
    files = (github_file(*_JB, "pima-indians-diabetes.csv", "jbrownlee/pima-indians-diabetes.csv",
                         "6bfe5d0f379d17a0e0819b996407e3c09bf80febd4287f2ed212190dfff154af"),)
    kinds: ClassVar[dict[str, str]] = numeric_kinds(_PIMA, diabetes=CATEGORICAL)

    def __init__(self, zeros_as_missing: bool = True) -> None:
        self.zeros_as_missing = zeros_as_missing

    def parse(self, paths: list[Path]) -> pd.DataFrame:
        frame = read_csv_strict(paths[0], header=None, names=list(self.kinds))
        if not set(frame["diabetes"]) <= {0, 1}:
            raise ImputebenchError(f"pima: class values {sorted(set(frame['diabetes']))}, "
                                   "expected 0/1")
        frame["diabetes"] = frame["diabetes"].map({0: "neg", 1: "pos"})
        if self.zeros_as_missing:
            for col in _PIMA_IMPOSSIBLE_ZEROS:
                frame[col] = frame[col].astype(np.float64).mask(frame[col] == 0)
        return typed_in_order(frame, self.kinds, self.name)
