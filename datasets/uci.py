"""Standard tier: the mixed-type tables of TabSyn, DiffPuter and TabDDPM (adult, default,
shoppers, magic, beijing, california), and the reading helpers of the standard UCI tables.

The classic small UCI tables (letter, spam, wine, abalone, breast, pima) are in
:mod:`imputebench.datasets.uci_classic`, the kNNxKDE suite in
:mod:`imputebench.datasets.knnxkde_suite`.

Every table is read from the data directory (``IMPUTEBENCH_DATA``), from a copy pinned to one
commit of a public GitHub repository and checked against its SHA-256 (the data directory's
README gives each file's provenance). ``parse`` returns the full typed table, target included;
cells missing in the source file ('?', 'NA' or empty) stay ``NaN`` and nothing is filled.

Each class declares ``kinds``: every column's kind, in table order. Integer-coded categoricals
are declared categorical (their levels are the codes as text, e.g. ``"1"``). Missing values are
read strictly (:func:`read_csv_strict`): only the marker the source uses counts as missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pandas as pd

from imputebench.datasets.base import register_dataset
from imputebench.datasets.errors import ImputebenchError
from imputebench.datasets.schema import CATEGORICAL, NUMERIC, ORDINAL, make_typed
from imputebench.datasets.standard import StandardDataset, github_file

_UCI_LICENCE = "CC BY 4.0 (UCI); the hosting repository states no licence"
_JB = ("jbrownlee/Datasets", "d20fcb6402ae34e653d4513b00f39257bb37ed7f")


def read_csv_strict(path: Path, na: tuple[str, ...] = (), **kwargs) -> pd.DataFrame:
    """``pandas.read_csv`` where only the markers ``na`` make a cell missing.

    pandas' default list (``"NA"``, ``"null"``, ``""``, ...) is off, so a marker the source does
    not use fails when the column is typed instead of silently becoming ``NaN``.
    """
    return pd.read_csv(path, na_values=list(na), keep_default_na=False, **kwargs)


def numeric_kinds(numeric: tuple[str, ...] | list[str], **others: str) -> dict[str, str]:
    """``{column: "numeric"}`` for ``numeric``, then the ``others`` (column=kind)."""
    out = {c: NUMERIC for c in numeric}
    out.update(others)
    return out


def typed_in_order(frame: pd.DataFrame, kinds: dict[str, str], name: str) -> pd.DataFrame:
    """Type ``frame`` with the declared ``kinds``, whose keys must be its columns, in order."""
    if list(frame.columns) != list(kinds):
        raise ImputebenchError(f"dataset {name!r}: parsed columns {list(frame.columns)} differ "
                               f"from the declared {list(kinds)}")
    return make_typed(frame.reset_index(drop=True), kinds)


def renamed_header(frame: pd.DataFrame, expected: list[str], names: list[str],
                   what: str) -> pd.DataFrame:
    """Rename the file's header ``expected`` to ``names``, refusing any other header."""
    if list(frame.columns) != expected:
        raise ImputebenchError(f"{what}: unexpected header {list(frame.columns)[:5]}...")
    return frame.set_axis(names, axis=1)


# Adult ------------------------------------------------------------------------------------------

_EDUCATION = ["Preschool", "1st-4th", "5th-6th", "7th-8th", "9th", "10th", "11th", "12th",
              "HS-grad", "Some-college", "Assoc-voc", "Assoc-acdm", "Bachelors", "Masters",
              "Prof-school", "Doctorate"]  # the order of education_num, 1..16


@register_dataset
class Adult(StandardDataset):
    """UCI Adult (census income), the raw ``adult.data`` and ``adult.test`` files.

    File choice: ``jbrownlee/adult-train.csv`` and ``adult-test.csv`` are the UCI originals
    with '?' for missing (PMLB's copy label-encodes '?' as a level, so it cannot be used). The
    test file's labels end with '.' (``<=50K.``); they are normalised to the train labels.
    ``education`` is ordinal, ordered by ``education_num`` (a one-to-one code of it), which
    stays numeric as in TabSyn; the other seven string columns are categorical. Real missing
    values: workclass, occupation, native_country (4,262 cells in train, 2,203 in test).

    Parameters
    ----------
    split : {"all", "train", "test"}
        ``"all"`` (default) is train then test, 48,842 rows, as TabSyn/DiffPuter merge them.
    """

    name = "adult"
    description = ("Adult census income: 48,842 x 14 (6 numeric, 7 categorical, education "
                   "ordinal) + income (target); 6,465 cells really missing ('?')")
    aliases = ("adult (TabSyn, DiffPuter, TabCSDI, MissDiff)", "census", "census income")
    source = (f"UCI id 2 (adult.data + adult.test); {_JB[0]}@{_JB[1]} adult-train.csv, "
              "adult-test.csv")
    licence = _UCI_LICENCE
    citation = ("Becker, B., Kohavi, R. (1996). Adult [Dataset]. UCI Machine Learning "
                "Repository. doi:10.24432/C5XW20")
    target = "income"
    files = (
        github_file(*_JB, "adult-train.csv", "jbrownlee/adult-train.csv",
                    "5b00264637dbfec36bdeaab5676b0b309ff9eb788d63554ca0a249491c86603d"),
        github_file(*_JB, "adult-test.csv", "jbrownlee/adult-test.csv",
                    "72567b94f5c1a6f8501377dd80f93892c3848ff071cf91ba47e00b0785a28074"),
    )
    kinds: ClassVar[dict[str, str]] = {
        "age": NUMERIC, "workclass": CATEGORICAL, "fnlwgt": NUMERIC, "education": ORDINAL,
        "education_num": NUMERIC, "marital_status": CATEGORICAL, "occupation": CATEGORICAL,
        "relationship": CATEGORICAL, "race": CATEGORICAL, "sex": CATEGORICAL,
        "capital_gain": NUMERIC, "capital_loss": NUMERIC, "hours_per_week": NUMERIC,
        "native_country": CATEGORICAL, "income": CATEGORICAL,
    }
    splits: ClassVar[tuple[str, ...]] = ("all", "train", "test")

    def __init__(self, split: str = "all") -> None:
        self.split = split

    def load(self) -> pd.DataFrame:
        if self.split not in self.splits:
            raise ImputebenchError(f"adult: split must be one of {self.splits}, "
                                   f"got {self.split!r}")
        return super().load()

    def parse(self, paths: list[Path]) -> pd.DataFrame:
        chosen = {"all": paths, "train": paths[:1], "test": paths[1:]}[self.split]
        parts = [read_csv_strict(p, na=("?",), header=None, names=list(self.kinds),
                                 skipinitialspace=True) for p in chosen]
        frame = pd.concat(parts, ignore_index=True)
        for col, kind in self.kinds.items():
            if kind != NUMERIC:
                frame[col] = frame[col].str.strip()
        frame["income"] = frame["income"].str.rstrip(".")
        unknown = set(frame["education"].dropna()) - set(_EDUCATION)
        if unknown:
            raise ImputebenchError(f"adult: unknown education level(s) {sorted(unknown)}")
        frame["education"] = pd.Categorical(frame["education"], _EDUCATION, ordered=True)
        return typed_in_order(frame, self.kinds, self.name)


# Default of credit card clients ----------------------------------------------------------------

_PAY = ["PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6"]
_BILL = [f"BILL_AMT{i}" for i in range(1, 7)]
_PAY_AMT = [f"PAY_AMT{i}" for i in range(1, 7)]


@register_dataset
class CreditDefault(StandardDataset):
    """UCI Default of Credit Card Clients (Taiwan, 2005), 30,000 clients.

    File choice: ``uci-default/UCI_Credit_Card.csv``, a CSV export of the UCI ``.xls`` whose
    header is the sheet's first row (``ID, X1..X23, Y``); the columns get the UCI names of the
    second row and the ID column is dropped. ``SEX``, ``EDUCATION`` (codes 0-6; 0, 5, 6 are
    undocumented) and ``MARRIAGE`` are categorical codes; the six repayment statuses ``PAY_*``
    (-2 no consumption, -1 paid duly, 0 revolving, 1..8 months of delay) are ordinal by code
    (TabSyn treats them as categorical); amounts and ``AGE`` are numeric.
    """

    name = "default"
    description = ("Default of credit card clients: 30,000 x 23 (14 numeric, 3 categorical, "
                   "6 ordinal PAY_*) + default.payment.next.month (target); no real NaN")
    aliases = ("default (TabSyn, DiffPuter, TabDDPM)", "credit default", "taiwan credit")
    source = ("UCI id 350; fju155447/uci@84670e783ab9fd2459b7096d82965f28dafb66b2 "
              "UCI_Credit_Card.csv")
    licence = _UCI_LICENCE
    citation = ("Yeh, I.-C., Lien, C.-H. (2009). The comparisons of data mining techniques for "
                "the predictive accuracy of probability of default of credit card clients. "
                "Expert Systems with Applications 36(2), 2473-2480. UCI doi:10.24432/C55S3H")
    target = "default.payment.next.month"
    files = (github_file("fju155447/uci", "84670e783ab9fd2459b7096d82965f28dafb66b2",
                         "UCI_Credit_Card.csv", "uci-default/UCI_Credit_Card.csv",
                         "023eb2c3ad9efd15e7869616fa50a0143f25223105c7069ba632431530afdb61"),)
    kinds: ClassVar[dict[str, str]] = {
        "LIMIT_BAL": NUMERIC, "SEX": CATEGORICAL, "EDUCATION": CATEGORICAL,
        "MARRIAGE": CATEGORICAL, "AGE": NUMERIC, **dict.fromkeys(_PAY, ORDINAL),
        **dict.fromkeys(_BILL + _PAY_AMT, NUMERIC), "default.payment.next.month": CATEGORICAL,
    }

    def parse(self, paths: list[Path]) -> pd.DataFrame:
        raw = read_csv_strict(paths[0])
        header = ["ID"] + [f"X{i}" for i in range(1, 24)] + ["Y"]
        frame = renamed_header(raw, header, ["ID", *self.kinds], "UCI_Credit_Card.csv")
        return typed_in_order(frame.drop(columns="ID"), self.kinds, self.name)


# Online shoppers -------------------------------------------------------------------------------

_SHOPPERS_NUMERIC = ["Administrative", "Administrative_Duration", "Informational",
                     "Informational_Duration", "ProductRelated", "ProductRelated_Duration",
                     "BounceRates", "ExitRates", "PageValues", "SpecialDay"]
_SHOPPERS_CATEGORICAL = ["Month", "OperatingSystems", "Browser", "Region", "TrafficType",
                         "VisitorType", "Weekend", "Revenue"]


@register_dataset
class Shoppers(StandardDataset):
    """UCI Online Shoppers Purchasing Intention, 12,330 sessions.

    File choice: ``uci-shoppers/online_shoppers_intention.csv`` keeps the UCI values (month
    names, visitor types, TRUE/FALSE) where other copies were label-encoded. Defect handled:
    this copy lost its header line, so the UCI column names are supplied here. Month,
    OperatingSystems, Browser, Region, TrafficType (integer codes), VisitorType and Weekend are
    categorical, as in TabSyn; Weekend and Revenue keep the file's ``TRUE``/``FALSE``.
    """

    name = "shoppers"
    description = ("Online shoppers purchasing intention: 12,330 x 17 (10 numeric, "
                   "7 categorical) + Revenue (target, TRUE/FALSE); no real NaN")
    aliases = ("shoppers (TabSyn, DiffPuter)", "online shoppers")
    source = ("UCI id 468; Shaunofthedead19/OnlineShoppersIntention@"
              "af48466dbf0c361b02749ff440aaabcebcf03593 online_shoppers_intention.csv")
    licence = _UCI_LICENCE
    citation = ("Sakar, C. O., Polat, S. O., Katircioglu, M., Kastro, Y. (2019). Real-time "
                "prediction of online shoppers' purchasing intention using multilayer perceptron "
                "and LSTM recurrent neural networks. Neural Computing and Applications 31, "
                "6893-6908. UCI doi:10.24432/C5F88Q")
    target = "Revenue"
    files = (github_file("Shaunofthedead19/OnlineShoppersIntention",
                         "af48466dbf0c361b02749ff440aaabcebcf03593",
                         "online_shoppers_intention.csv",
                         "uci-shoppers/online_shoppers_intention.csv",
                         "f478bab98d0a47125518aab1a3c3cf1e3527b31bb06aa27bd0cc0b93e0a11185"),)
    kinds: ClassVar[dict[str, str]] = numeric_kinds(
        _SHOPPERS_NUMERIC, **dict.fromkeys(_SHOPPERS_CATEGORICAL, CATEGORICAL))

    def parse(self, paths: list[Path]) -> pd.DataFrame:
        frame = read_csv_strict(paths[0], header=None, names=list(self.kinds),
                     dtype={"Weekend": str, "Revenue": str})
        return typed_in_order(frame, self.kinds, self.name)


# MAGIC gamma telescope --------------------------------------------------------------------------

_MAGIC = ["fLength", "fWidth", "fSize", "fConc", "fConc1", "fAsym", "fM3Long", "fM3Trans",
          "fAlpha", "fDist"]


@register_dataset
class Magic(StandardDataset):
    """UCI MAGIC Gamma Telescope: 10 numeric image features and the class g (gamma, signal) /
    h (hadron, background). File: the original ``magic04.data`` (no header; UCI names)."""

    name = "magic"
    description = "MAGIC gamma telescope: 19,020 x 10 numeric + class g/h (target); no real NaN"
    aliases = ("magic (TabSyn, DiffPuter)", "magic gamma telescope")
    source = ("UCI id 159; TanishaSharma01/MAGIC-gamma-hadron-classification@"
              "8895e72ade7e042cc154730da133fa3ec298414c magic04.data")
    licence = _UCI_LICENCE
    citation = ("Bock, R. (2004). MAGIC Gamma Telescope [Dataset]. UCI Machine Learning "
                "Repository. doi:10.24432/C52C8B")
    target = "class"
    files = (github_file("TanishaSharma01/MAGIC-gamma-hadron-classification",
                         "8895e72ade7e042cc154730da133fa3ec298414c", "magic04.data",
                         "uci-magic/magic04.data",
                         "e9314b7ebd4b4b59a3b3d65f7316663963777b16a46786877651dbbaa640b36a"),)
    kinds: ClassVar[dict[str, str]] = numeric_kinds(_MAGIC, **{"class": CATEGORICAL})

    def parse(self, paths: list[Path]) -> pd.DataFrame:
        frame = read_csv_strict(paths[0], header=None, names=list(self.kinds))
        return typed_in_order(frame, self.kinds, self.name)


# Beijing PM2.5 ---------------------------------------------------------------------------------


@register_dataset
class Beijing(StandardDataset):
    """UCI Beijing PM2.5 (US embassy, hourly, 2010-2014).

    File choice: ``jbrownlee/pollution.csv`` = ``PRSA_data_2010.1.1-2014.12.31.csv``, the file
    TabSyn/DiffPuter read. The row-number column ``No`` is dropped. ``year``, ``month``, ``day``
    and ``hour`` stay numeric (calendar positions, usable by every numeric imputer; TabSyn
    one-hot encodes them instead); ``cbwd`` (wind direction) is categorical. ``pm2.5`` has
    2,067 real ``NA`` that stay missing (never scored); it is the target, as in TabSyn.
    """

    name = "beijing"
    description = ("Beijing PM2.5: 43,824 x 11 (10 numeric, cbwd categorical) + pm2.5 "
                   "(target); 2,067 cells really missing (pm2.5)")
    aliases = ("beijing (TabSyn, DiffPuter)", "beijing pm2.5", "PRSA")
    source = f"UCI id 381; {_JB[0]}@{_JB[1]} pollution.csv"
    licence = _UCI_LICENCE
    citation = ("Liang, X., Zou, T., Guo, B., Li, S., Zhang, H., Zhang, S., Huang, H., Chen, "
                "S. X. (2015). Assessing Beijing's PM2.5 pollution: severity, weather impact, "
                "APEC and winter heating. Proc. R. Soc. A 471, 20150257. UCI "
                "doi:10.24432/C5JS49")
    target = "pm2.5"
    files = (github_file(*_JB, "pollution.csv", "jbrownlee/pollution.csv",
                         "892e9559205d16d32623135c127a3951c12e46ea1e0b3093e107ce89a9fd60e2"),)
    kinds: ClassVar[dict[str, str]] = {
        **numeric_kinds(["year", "month", "day", "hour", "pm2.5", "DEWP", "TEMP", "PRES"]),
        "cbwd": CATEGORICAL, **numeric_kinds(["Iws", "Is", "Ir"]),
    }

    def parse(self, paths: list[Path]) -> pd.DataFrame:
        frame = read_csv_strict(paths[0], na=("NA",))
        if list(frame.columns) != ["No", *self.kinds]:
            raise ImputebenchError(f"pollution.csv: unexpected header {list(frame.columns)}")
        return typed_in_order(frame.drop(columns="No"), self.kinds, self.name)


# California housing ----------------------------------------------------------------------------


@register_dataset
class California(StandardDataset):
    """California housing (1990 census block groups) as in *Hands-On ML* and DiffPuter.

    File choice: ``ageron-housing/housing.csv``, byte-identical to the ``california.csv`` of
    DiffPuter/MissingDataOT: 207 ``total_bedrooms`` values are really missing (kept ``NaN``)
    and ``ocean_proximity`` is categorical. scikit-learn's version (complete, 8 features)
    needs the network and is a different table.
    """

    name = "california"
    description = ("California housing: 20,640 x 9 (8 numeric, ocean_proximity categorical) "
                   "+ median_house_value (target); 207 cells really missing (total_bedrooms)")
    aliases = ("california (HyperImpute, ReMasker, DiffPuter, MissingDataOT, TabDDPM)",
               "california housing", "housing")
    source = ("StatLib California housing; ageron/data@2ea73147454d2ff8c8a933913be4606f05b352ca "
              "housing/housing.csv")
    licence = "public (StatLib); the hosting repository states no licence"
    citation = ("Pace, R. K., Barry, R. (1997). Sparse spatial autoregressions. Statistics & "
                "Probability Letters 33(3), 291-297.")
    target = "median_house_value"
    files = (github_file("ageron/data", "2ea73147454d2ff8c8a933913be4606f05b352ca",
                         "housing/housing.csv", "ageron-housing/housing.csv",
                         "2364609dc48bec7df3ba9dbb7041478e704ecddcee70ef1827ec3fc49d22c0cc"),)
    kinds: ClassVar[dict[str, str]] = numeric_kinds(
        ["longitude", "latitude", "housing_median_age", "total_rooms", "total_bedrooms",
         "population", "households", "median_income", "median_house_value"],
        ocean_proximity=CATEGORICAL)

    def parse(self, paths: list[Path]) -> pd.DataFrame:
        return typed_in_order(read_csv_strict(paths[0], na=("",)), self.kinds, self.name)

