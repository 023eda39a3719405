"""Standard tier: the 15 data sets of the kNNxKDE paper, as the paper imputes them.

Each table is exactly what ``utils.load_data`` of the authors' repository (DeltaFloflo/knnxkde)
returns: the same ``read_csv`` call (header or not) and the same column slice, so labels, row
ids and the categorical columns the paper leaves out are dropped (abalone ``iloc[:, 1:-1]``,
breast ``2:``, gaussians/geyser ``1:-1``, japanese_vowels ``3:``, penguin ``3:-1``, pollen
``:-1``, sylvine ``1:``, wines ``:-1``; the 2-D sets, planets and sulfur whole). Every column is
numeric (float64, the raw values: the paper casts to float32 and min-max scales, our metrics do
their own scaling), no table has a target and none has a missing cell.

One quirk is reproduced on purpose: ``japanese_vowels.csv`` has no header line, but
``load_data`` reads it with pandas' default ``header=0``, so its first record becomes the header
and the paper imputes 9,960 of the 9,961 rows; so does ``knnxkde_japanese_vowels``.

References
----------
Lalande, F., Doya, K. (2023). Numerical Data Imputation for Multimodal Data Sets: A
Probabilistic Nearest-Neighbor Kernel Density Approach. Transactions on Machine Learning
Research (TMLR).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pandas as pd

from imputebench.datasets.base import register_dataset
from imputebench.datasets.errors import ImputebenchError
from imputebench.datasets.files import RemoteFile
from imputebench.datasets.standard import StandardDataset, github_file
from imputebench.datasets.uci import numeric_kinds, read_csv_strict, typed_in_order
from imputebench.datasets.uci_classic import ABALONE_MEASURES, WDBC_FEATURES, WINE_HEADER

_REPO, _COMMIT = "DeltaFloflo/knnxkde", "db5922539e078bf2fe88749d7bf57d567d71de5d"
_PAPER = ("Lalande, F., Doya, K. (2023). Numerical Data Imputation for Multimodal Data Sets: A "
          "Probabilistic Nearest-Neighbor Kernel Density Approach. TMLR.")
_OWN = "the kNNxKDE author's own data; no licence file in the repository"
_UCI = "CC BY 4.0 (UCI); no licence file in the repository"


def _file(name: str, sha256: str) -> tuple[RemoteFile]:
    return (github_file(_REPO, _COMMIT, f"data/{name}", f"knnxkde/{name}", sha256),)


def _source(origin: str, name: str, columns: str) -> str:
    return f"{origin}; {_REPO}@{_COMMIT} data/{name}, columns {columns} as utils.load_data"


class _KnnxkdeTable(StandardDataset):
    """One kNNxKDE table: ``read_csv(**_read).iloc[:, _keep]``, named by ``kinds``."""

    target = None
    _read: ClassVar[dict] = {"header": None}
    _keep: ClassVar[slice] = slice(None)

    def parse(self, paths: list[Path]) -> pd.DataFrame:
        frame = read_csv_strict(paths[0], **self._read).iloc[:, self._keep]
        if frame.shape[1] != len(self.kinds):
            raise ImputebenchError(f"dataset {self.name!r}: {frame.shape[1]} columns after the "
                                   f"paper's selection, expected {len(self.kinds)}")
        return typed_in_order(frame.set_axis(list(self.kinds), axis=1), self.kinds, self.name)


def _xy() -> dict[str, str]:
    return numeric_kinds(["x", "y"])


@register_dataset
class Knnxkde2dLinear(_KnnxkdeTable):
    """Synthetic 2-D set of the kNNxKDE paper: a noisy linear relation between x and y."""

    name = "knnxkde_2d_linear"
    description = "kNNxKDE 2d_linear (synthetic): 500 x 2 numeric (x, y), no target, no NaN"
    aliases = ("2d_linear (kNNxKDE)",)
    source = _source("synthetic", "2d_linear.csv", "all")
    licence = _OWN
    citation = _PAPER
    files = _file("2d_linear.csv",
                  "9b3a9d091d2b0299b0e30d1e8374454e6ad27fb68dba671a04ddbb64a9ad0480")
    kinds: ClassVar[dict[str, str]] = _xy()


@register_dataset
class Knnxkde2dRing(_KnnxkdeTable):
    """Synthetic 2-D set of the kNNxKDE paper: points on a noisy ring (y given x bimodal)."""

    name = "knnxkde_2d_ring"
    description = "kNNxKDE 2d_ring (synthetic): 500 x 2 numeric (x, y), no target, no NaN"
    aliases = ("2d_ring (kNNxKDE)",)
    source = _source("synthetic", "2d_ring.csv", "all")
    licence = _OWN
    citation = _PAPER
    files = _file("2d_ring.csv", "1bf11d979762a604fead5902c5bb6c8a1e4b6ab1944b00e24f70057424840c8f")
    kinds: ClassVar[dict[str, str]] = _xy()


@register_dataset
class Knnxkde2dSine(_KnnxkdeTable):
    """Synthetic 2-D set of the kNNxKDE paper: y = sin(x) plus noise."""

    name = "knnxkde_2d_sine"
    description = "kNNxKDE 2d_sine (synthetic): 500 x 2 numeric (x, y), no target, no NaN"
    aliases = ("2d_sine (kNNxKDE)",)
    source = _source("synthetic", "2d_sine.csv", "all")
    licence = _OWN
    citation = _PAPER
    files = _file("2d_sine.csv", "c6da1d022318c42d404ed5e64cb52e7837f18a946b1ff91e2567a5a81bba35aa")
    kinds: ClassVar[dict[str, str]] = _xy()


@register_dataset
class KnnxkdeAbalone(_KnnxkdeTable):
    """UCI abalone, the 7 measurements (sex and rings dropped, as in the paper)."""

    name = "knnxkde_abalone"
    description = "kNNxKDE abalone: 4,177 x 7 numeric measurements (no sex, no rings), no target"
    aliases = ("abalone (kNNxKDE)",)
    source = _source("UCI id 1", "abalone.csv", "1:-1")
    licence = _UCI
    citation = ("Nash, W. J., Sellers, T. L., Talbot, S. R., Cawthorn, A. J., Ford, W. B. "
                "(1994). Abalone [Dataset]. UCI doi:10.24432/C55C7W. As used in " + _PAPER)
    files = _file("abalone.csv", "7b008b0e830858853f9534f9425a98e1c403565f75c24a5929d99f68d4c52303")
    kinds: ClassVar[dict[str, str]] = numeric_kinds(ABALONE_MEASURES)
    _keep = slice(1, -1)


@register_dataset
class KnnxkdeBreast(_KnnxkdeTable):
    """UCI breast cancer Wisconsin (diagnostic), the 30 features (no ID, no diagnosis)."""

    name = "knnxkde_breast"
    description = "kNNxKDE breast (WDBC): 569 x 30 numeric features (no ID, no diagnosis)"
    aliases = ("breast (kNNxKDE)",)
    source = _source("UCI id 17 (wdbc.data)", "breast.csv", "2:")
    licence = _UCI
    citation = ("Wolberg, W., Mangasarian, O., Street, N., Street, W. (1993). Breast Cancer "
                "Wisconsin (Diagnostic) [Dataset]. UCI doi:10.24432/C5DW2B. As used in " + _PAPER)
    files = _file("breast.csv", "d606af411f3e5be8a317a5a8b652b425aaf0ff38ca683d5327ffff94c3695f4a")
    kinds: ClassVar[dict[str, str]] = numeric_kinds(WDBC_FEATURES)
    _keep = slice(2, None)


@register_dataset
class KnnxkdeGaussians(_KnnxkdeTable):
    """Synthetic mixture of 3 Gaussians in 8 dimensions (the class label is dropped)."""

    name = "knnxkde_gaussians"
    description = "kNNxKDE gaussians (synthetic): 10,000 x 8 numeric (x0..x7), no label/target"
    aliases = ("gaussians (kNNxKDE)",)
    source = _source("synthetic (3-Gaussian mixture)", "gaussians.csv", "1:-1")
    licence = _OWN
    citation = _PAPER
    files = _file("gaussians.csv",
                  "1d88c076e72d5f1f1f5f35ac90dc99def945299cb6405bdc3b59f931703f281d")
    kinds: ClassVar[dict[str, str]] = numeric_kinds([f"x{i}" for i in range(8)])
    _read = {}
    _keep = slice(1, -1)


@register_dataset
class KnnxkdeGeyser(_KnnxkdeTable):
    """Old Faithful eruptions: duration and waiting time (the long/short label is dropped)."""

    name = "knnxkde_geyser"
    description = "kNNxKDE geyser (Old Faithful): 272 x 2 numeric (duration, waiting), no target"
    aliases = ("geyser (kNNxKDE)", "old faithful")
    source = _source("R datasets::faithful", "geyser.csv", "1:-1")
    licence = "public (R datasets 'faithful'); no licence file in the repository"
    citation = ("Azzalini, A., Bowman, A. W. (1990). A look at some data on the Old Faithful "
                "geyser. Applied Statistics 39(3), 357-365. As used in " + _PAPER)
    files = _file("geyser.csv", "48989faf7b0db8ffacafaa89a91766cee7157d1fc70d020dba1a42a074d956e4")
    kinds: ClassVar[dict[str, str]] = numeric_kinds(["duration", "waiting"])
    _read = {}
    _keep = slice(1, -1)


@register_dataset
class KnnxkdeJapaneseVowels(_KnnxkdeTable):
    """UCI Japanese vowels, the 12 LPC cepstrum coefficients of each frame (speaker, utterance
    and frame ids dropped). 9,960 rows: the paper's reader takes the first record as a header
    (module docstring)."""

    name = "knnxkde_japanese_vowels"
    description = ("kNNxKDE japanese_vowels: 9,960 x 12 numeric LPC coefficients (ids, speaker "
                   "dropped; first record lost as in the paper), no target")
    aliases = ("japanese_vowels (kNNxKDE)",)
    source = _source("UCI id 128", "japanese_vowels.csv", "3: (header=0)")
    licence = _UCI
    citation = ("Kudo, M., Toyama, J., Shimbo, M. (1999). Multidimensional curve classification "
                "using passing-through regions. Pattern Recognition Letters 20(11-13), "
                "1103-1111. UCI doi:10.24432/C5NS47. As used in " + _PAPER)
    files = _file("japanese_vowels.csv",
                  "387dcdae303ffa9a5e3cb231c3cb9d3e66f9dbe0fbc7b6aafce3ff6560023c38")
    kinds: ClassVar[dict[str, str]] = numeric_kinds([f"lpc{i}" for i in range(1, 13)])
    _read = {}  # sic: as load_data, which loses the first record to the header
    _keep = slice(3, None)


@register_dataset
class KnnxkdePenguin(_KnnxkdeTable):
    """Palmer penguins, the four body measurements of the 342 penguins measured (species,
    island and sex dropped)."""

    name = "knnxkde_penguin"
    description = "kNNxKDE penguin: 342 x 4 numeric body measurements, no target, no NaN"
    aliases = ("penguin (kNNxKDE)",)
    source = _source("palmerpenguins", "penguin.csv", "3:-1")
    licence = "CC0 (palmerpenguins); no licence file in the repository"
    citation = ("Horst, A. M., Hill, A. P., Gorman, K. B. (2020). palmerpenguins: Palmer "
                "Archipelago (Antarctica) penguin data. doi:10.5281/zenodo.3960218. As used in "
                + _PAPER)
    files = _file("penguin.csv", "dfb5942328880e233dab51c16c560b3ae2659d0afddf4542611362b830bb83b0")
    kinds: ClassVar[dict[str, str]] = numeric_kinds(
        ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"])
    _read = {}
    _keep = slice(3, -1)


@register_dataset
class KnnxkdePlanets(_KnnxkdeTable):
    """Exoplanets (the author's extract of an exoplanet catalogue): radius, mass, orbital
    period, equilibrium temperature, planets in the system, stellar mass; all but the planet
    count are log-scaled in the file."""

    name = "knnxkde_planets"
    description = "kNNxKDE planets: 550 x 6 numeric (5 log-scaled), no target, no NaN"
    aliases = ("planets (kNNxKDE)",)
    source = _source("exoplanet catalogue extract", "planets.csv", "all")
    licence = _OWN
    citation = _PAPER
    files = _file("planets.csv", "8bd122635cebec078c2d9958cf0a92d8ab38647fb240b06620297aab8dd6a519")
    kinds: ClassVar[dict[str, str]] = numeric_kinds(
        ["pl_radj", "pl_bmassj", "pl_orbper", "pl_eqt", "pl_pnum", "st_mass"])
    _read = {}


@register_dataset
class KnnxkdePollen(_KnnxkdeTable):
    """Pollen grains (synthetic, 1986 ASA data exposition): ridge, nub, crack, weight and
    density (the observation number is dropped)."""

    name = "knnxkde_pollen"
    description = "kNNxKDE pollen: 3,848 x 5 numeric, no target, no NaN"
    aliases = ("pollen (kNNxKDE)",)
    source = _source("StatLib / OpenML 'pollen'", "pollen.csv", ":-1")
    licence = "public (StatLib / OpenML); no licence file in the repository"
    citation = ("Coleman, D. (1986). Pollen data (synthetic), ASA Statistical Graphics data "
                "exposition; StatLib and OpenML 'pollen'. As used in " + _PAPER)
    files = _file("pollen.csv", "cfd3320664de1f495c7b63b7107d34529dcf5a77d652318db88ce24514c8a8ce")
    kinds: ClassVar[dict[str, str]] = numeric_kinds(
        ["ridge", "nub", "crack", "weight", "density"])
    _keep = slice(None, -1)


@register_dataset
class KnnxkdeSulfur(_KnnxkdeTable):
    """Sulfur recovery unit: 5 process inputs a1..a5 and the 2 outputs y1, y2."""

    name = "knnxkde_sulfur"
    description = "kNNxKDE sulfur: 10,081 x 7 numeric (a1..a5, y1, y2), no target, no NaN"
    aliases = ("sulfur (kNNxKDE)",)
    source = _source("OpenML 'sulfur'", "sulfur.csv", "all")
    licence = "per OpenML 'sulfur'; no licence file in the repository"
    citation = ("Fortuna, L., Rizzo, A., Sinatra, M., Xibilia, M. G. (2003). Soft analyzers for "
                "a sulfur recovery unit. Control Engineering Practice 11(12), 1491-1500. As "
                "used in " + _PAPER)
    files = _file("sulfur.csv", "2acbf4059c808432283bc61797b5ffe813a532c2fb20c75d7ee2e6274e2b5f1b")
    kinds: ClassVar[dict[str, str]] = numeric_kinds(["a1", "a2", "a3", "a4", "a5", "y1", "y2"])


@register_dataset
class KnnxkdeSylvine(_KnnxkdeTable):
    """ChaLearn AutoML ``sylvine``: 20 integer features V1..V20 (the binary label dropped)."""

    name = "knnxkde_sylvine"
    description = "kNNxKDE sylvine: 5,124 x 20 numeric (V1..V20), no label/target, no NaN"
    aliases = ("sylvine (kNNxKDE)",)
    source = _source("ChaLearn AutoML / OpenML 41146", "sylvine.csv", "1:")
    licence = "per OpenML 41146; no licence file in the repository"
    citation = ("Guyon, I. et al. (2019). Analysis of the AutoML Challenge series 2015-2018. In "
                "Automated Machine Learning, Springer, 177-219. As used in " + _PAPER)
    files = _file("sylvine.csv", "e0b21e5dbfccc68d9faa2e3ea09ab26d72c22806ae165d1e63808430dd2d24e6")
    kinds: ClassVar[dict[str, str]] = numeric_kinds([f"V{i}" for i in range(1, 21)])
    _keep = slice(1, None)


_WINE_CITATION = ("Cortez, P., Cerdeira, A., Almeida, F., Matos, T., Reis, J. (2009). Modeling "
                  "wine preferences by data mining from physicochemical properties. Decision "
                  "Support Systems 47(4), 547-553. UCI doi:10.24432/C56S3T. As used in " + _PAPER)
_WINE_FEATURES = [c.replace(" ", "_") for c in WINE_HEADER[:-1]]


@register_dataset
class KnnxkdeWineRed(_KnnxkdeTable):
    """UCI red wine quality, the 11 physico-chemical measures (quality dropped)."""

    name = "knnxkde_wine_red"
    description = "kNNxKDE wine_red: 1,599 x 11 numeric (no quality), no target, no NaN"
    aliases = ("wine_red (kNNxKDE)",)
    source = _source("UCI id 186", "wine_red.csv", ":-1 (sep=';')")
    licence = _UCI
    citation = _WINE_CITATION
    files = _file("wine_red.csv",
                  "4a402cf041b025d4566d954c3b9ba8635a3a8a01e039005d97d6a710278cf05e")
    kinds: ClassVar[dict[str, str]] = numeric_kinds(_WINE_FEATURES)
    _read = {"sep": ";"}
    _keep = slice(None, -1)


@register_dataset
class KnnxkdeWineWhite(_KnnxkdeTable):
    """UCI white wine quality, the 11 physico-chemical measures (quality dropped)."""

    name = "knnxkde_wine_white"
    description = "kNNxKDE wine_white: 4,898 x 11 numeric (no quality), no target, no NaN"
    aliases = ("wine_white (kNNxKDE)",)
    source = _source("UCI id 186", "wine_white.csv", ":-1 (sep=';')")
    licence = _UCI
    citation = _WINE_CITATION
    files = _file("wine_white.csv",
                  "76c3f809815c17c07212622f776311faeb31e87610d52c26d87d6e361b169836")
    kinds: ClassVar[dict[str, str]] = numeric_kinds(_WINE_FEATURES)
    _read = {"sep": ";"}
    _keep = slice(None, -1)
