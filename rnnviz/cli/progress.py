"""Progress on a terminal: a tqdm bar on stderr while a run trains, and one line per epoch."""

from __future__ import annotations

import sys

from rnnviz.training.events import EpochEnded, Event, Resumed, Started, Stepped


class Progress:
    """A tqdm bar on a terminal's stderr, and one line per epoch."""

    def __init__(self, title: str) -> None:
        from tqdm import tqdm

        self.title = title
        self.bar = tqdm(
            total=None, unit="step", desc=title, file=sys.stderr, leave=False,
            mininterval=0.5, disable=not sys.stderr.isatty(),
        )  # fmt: skip

    def __call__(self, event: Event) -> None:
        if isinstance(event, Started):
            self.bar.reset(total=event.total_steps)
            self.bar.write(
                f"{self.title} on {event.device} · {event.parameters:,} parameters",
                file=sys.stderr,
            )
        elif isinstance(event, Resumed):
            self.bar.n = event.step
            self.bar.write(f"going on from {event.source} after step {event.step} (epoch "
                           f"{event.epoch}): {event.note}", file=sys.stderr)  # fmt: skip
        elif isinstance(event, Stepped):
            self.bar.n = event.step
            self.bar.set_postfix(loss=f"{event.loss:.3f}", refresh=False)
            self.bar.refresh()
        elif isinstance(event, EpochEnded):
            self.bar.write(
                f"epoch {event.epoch}/{event.epochs}  train {event.train_acc:.2%}  "
                f"val {event.val_acc:.2%}  {event.elapsed_s:.1f} s",
                file=sys.stderr,
            )
