"""What a headless command is: its options, its outputs, its checks and its run."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

from cdcviewer.analysis.workspace import Workspace
from cdcviewer.base.params import ChunkerParams
from cdcviewer.base.progress import TaskState
from cdcviewer.cli.options import params_from_args
from cdcviewer.cli.output import Outputs

# A run over the inputs loaded into a workspace on this machine; returns the exit status.
RunOnWorkspace = Callable[[Workspace, argparse.Namespace, TaskState], int]
# A run given the input paths themselves, for work done elsewhere (report --dask).
RunOnPaths = Callable[[list[str], argparse.Namespace, TaskState], int]


def _runs_here(args: argparse.Namespace) -> RunOnPaths | None:
    return None


def _no_first_cut(args: argparse.Namespace) -> ChunkerParams | None:
    return None


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: RunOnWorkspace
    # the outputs the options ask for, checked before any work
    outputs: Callable[[argparse.Namespace], Outputs]
    # raises CdcError for options that cannot work together, before any loading
    validate: Callable[[argparse.Namespace], object] = params_from_args
    # when the options send the work elsewhere, the run that takes the paths instead of
    # a local workspace
    run_elsewhere: Callable[[argparse.Namespace], RunOnPaths | None] = _runs_here
    # the parameters of the run's first analysis, if it starts with one: each input is
    # then cut with them while the next inputs still load
    first_cut: Callable[[argparse.Namespace], ChunkerParams | None] = _no_first_cut
