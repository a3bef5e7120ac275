"""``lowincome model train``: train the models on the warehouse, write artifacts and cards.

Training only reads the warehouse; it holds the writer lock while it reads so that it never meets a
night half-way (DuckDB lets no reader open the file while another process writes it). The
artifacts, cards and the training log go to ``<model_dir>/<model>/`` (settings); the next night's
eligibility and triage stages use them.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.config import Settings
from pipelines.learning.common import NotEnoughData
from pipelines.learning.spec import MODEL_NAMES, model_folder


@dataclass
class Outcome:
    model: str
    trained: bool
    version: str | None = None
    folder: str | None = None
    reason: str = ""
    warnings: tuple[str, ...] = ()
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"model": self.model, "trained": self.trained, "version": self.version, "folder": self.folder,
                "reason": self.reason, "warnings": list(self.warnings), "seconds": round(self.seconds, 1)}

    def render(self) -> str:
        if not self.trained:
            return f"{self.model}: not trained — {self.reason}"
        lines = [f"{self.model}: trained {self.version} in {self.seconds:.0f} s -> {self.folder}/card.md"]
        lines += [f"  WARNING {w}" for w in self.warnings]
        return "\n".join(lines)


def train_models(settings: Settings, models: list[str] | None = None, *, seed: int | None = None, echo=print,
                 owner: str = "lowincome model train") -> list[Outcome]:
    """Train ``models`` (default: all) in order. A model without enough data is reported, not an
    error: the pipeline goes on without it (no gate / severity order)."""
    from pipelines.learning import eligibility, triage
    from pipelines.nightly import open_warehouse
    from pipelines.warehouse import writer_lock

    trainers = {"eligibility": eligibility.train, "triage": triage.train}
    out = []
    with writer_lock(settings, owner=owner):
        with open_warehouse(settings, read_only=True) as con:
            for name in models or MODEL_NAMES:
                if name not in trainers:
                    raise ValueError(f"unknown model {name!r} (known: {', '.join(MODEL_NAMES)})")
                try:
                    result = trainers[name](con, model_folder(settings, name), seed=seed, echo=echo)
                except NotEnoughData as e:
                    out.append(Outcome(name, False, reason=str(e)))
                    continue
                out.append(Outcome(name, True, result.version, str(result.folder), warnings=tuple(result.warnings),
                                   seconds=result.seconds))
    return out
