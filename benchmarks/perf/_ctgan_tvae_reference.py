"""Run by ``tvae_vs_ctgan.py`` under the reference interpreter (one that has ``ctgan``).

Reads the table (CSV) and the job (JSON) named on the command line, fits ctgan's ``TVAE`` with
the job's architecture, batch size, epochs and device, and prints one JSON line of timings:
``prep_s`` (its ``DataTransformer`` fit + transform, timed alone), ``fit_s`` (``TVAE.fit``,
which includes that preprocessing) and the versions. Never imports imputebench.
"""

from __future__ import annotations

import json
import sys
import time

import pandas as pd
import torch


def main(csv: str, job_json: str) -> None:
    import ctgan
    from ctgan import TVAE
    from ctgan.data_transformer import DataTransformer

    job = json.loads(job_json)
    df = pd.read_csv(csv)
    discrete = job["discrete"]
    for c in discrete:
        df[c] = df[c].astype(str)
    torch.manual_seed(job["seed"])
    t = time.perf_counter()
    tr = DataTransformer()
    tr.fit(df, discrete)
    tr.transform(df)
    prep = time.perf_counter() - t
    model = TVAE(embedding_dim=job["embedding_dim"], compress_dims=tuple(job["compress"]),
                 decompress_dims=tuple(job["decompress"]), batch_size=job["batch_size"],
                 epochs=job["epochs"], cuda=job["device"] != "cpu")
    if job["device"] != "cpu":
        torch.cuda.synchronize()
    t = time.perf_counter()
    model.fit(df, discrete)
    if job["device"] != "cpu":
        torch.cuda.synchronize()
    fit = time.perf_counter() - t
    print(json.dumps({"prep_s": prep, "fit_s": fit, "data_dim": int(tr.output_dimensions),
                      "ctgan": ctgan.__version__, "torch": torch.__version__,
                      "pandas": pd.__version__}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
