"""The command line: `python -m rnnviz presets|train|race|lesson|evaluate|export|predict|...`.

A teacher prepares models before class with it, and other tools rely on its flags and on the last
line of `--json` output, so both are a stable contract. The training flags come from the settings'
declarations (`rnnviz.common.settings`). Bad arguments or files end with exit code 2 and one
readable line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

import torch

from rnnviz.cli import commands, lesson, memory, race
from rnnviz.common.text import clip
from rnnviz.data.datasets import DatasetUnavailableError
from rnnviz.storage.checkpoints import CheckpointError

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "presets": commands.cmd_presets,
    "train": commands.cmd_train,
    "evaluate": commands.cmd_evaluate,
    "export": commands.cmd_export,
    "predict": commands.cmd_predict,
    "bench": commands.cmd_bench,
    "memory": memory.cmd_memory,
    "race": race.cmd_race,
    "lesson": lesson.cmd_lesson,
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="rnnviz", description=(__doc__ or "").split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    commands.add_parsers(sub)
    memory.add_parser(sub)
    race.add_parser(sub)
    lesson.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (ValueError, CheckpointError, DatasetUnavailableError, FileNotFoundError) as exc:
        message = clip(" ".join(str(exc).split()), 2000)  # one line, of a readable length
        print(f"rnnviz {args.command}: error: {message}", file=sys.stderr)
        return 2
    except (MemoryError, torch.OutOfMemoryError) as exc:
        print(f"rnnviz {args.command}: out of memory ({_first_line(exc)}); lower the hidden "
              "size, the layers or the batch size", file=sys.stderr)  # fmt: skip
        return 1
    except RuntimeError as exc:  # the CPU allocator says "can't allocate memory" as a RuntimeError
        if "allocate" not in str(exc):
            raise
        print(f"rnnviz {args.command}: out of memory ({_first_line(exc)})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"rnnviz {args.command}: interrupted", file=sys.stderr)
        return 130


def _first_line(exc: BaseException, limit: int = 200) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return clip(text, limit)
