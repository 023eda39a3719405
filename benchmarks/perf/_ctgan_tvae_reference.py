"""Run by ``tvae_vs_ctgan.py`` under the reference interpreter (one that has ``ctgan``).

Reads the table (CSV) and the job (JSON) named on the command line, fits ctgan's ``TVAE`` with
the job's architecture, batch size, epochs and device, and prints one JSON line of timings:
``fit_s`` (``TVAE.fit``), ``prep_s`` (from the call to the start of the first epoch: its
``DataTransformer`` and setup) and ``epoch_s`` (each epoch, timed by wrapping the ``tqdm``
over epochs that ``TVAE.fit`` iterates; CUDA synchronised at each mark), the mean loss of
each epoch and the versions.
Never imports imputebench.
"""

from __future__ import annotations

import json
import sys
import time

import pandas as pd
import torch


def main(csv: str, job_json: str) -> None:
    import ctgan
    import ctgan.synthesizers.tvae as tvae_module
    from ctgan import TVAE

    job = json.loads(job_json)
    df = pd.read_csv(csv)
    discrete = job["discrete"]
    for c in discrete:
        df[c] = df[c].astype(str)
    if job.get("threads"):
        torch.set_num_threads(job["threads"])
    cuda = job["device"] != "cpu"
    marks: list[float] = []

    def mark() -> None:
        if cuda:
            torch.cuda.synchronize()
        marks.append(time.perf_counter())

    def timed_epochs(iterable, **_):
        for i in iterable:
            mark()
            yield i
        mark()

    tvae_module.tqdm = timed_epochs
    model = TVAE(embedding_dim=job["embedding_dim"], compress_dims=tuple(job["compress"]),
                 decompress_dims=tuple(job["decompress"]), batch_size=job["batch_size"],
                 epochs=job["epochs"], cuda=cuda)
    mark()
    # ctgan draws from torch's global RNG: seed it inside a scope that restores it afterwards
    with torch.random.fork_rng(devices=list(range(torch.cuda.device_count())) if cuda else []):
        torch.manual_seed(job["seed"])
        model.fit(df, discrete)
    mark()
    epochs = [b - a for a, b in zip(marks[1:-2], marks[2:-1], strict=True)]
    print(json.dumps({"prep_s": marks[1] - marks[0], "fit_s": marks[-1] - marks[0],
                      "epoch_s": epochs,
                      "epoch_loss": model.loss_values.groupby("Epoch")["Loss"].mean().tolist(),
                      "data_dim": int(model.transformer.output_dimensions),
                      "ctgan": ctgan.__version__, "torch": torch.__version__,
                      "pandas": pd.__version__}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
