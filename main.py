"""Latent Lab entry point: the GUI by default, headless sub-commands for everything else.

    python main.py                      open the window (bundled demo model)
    python main.py --checkpoint PATH    open a checkpoint or run folder
    python main.py train|sample|morph|project|directions|eval|bench ...  headless, no Qt imported

Argument parsers are built inside functions (nothing happens at import time), and sub-command
modules are imported lazily so headless commands never import Qt.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# sub-command -> (module, one-line help). Each module has add_arguments(parser) and run(args).
COMMANDS = {
    "train": ("trainer.cli", "train a GAN headless (progress bar; Ctrl-C checkpoints and exits)"),
    "sample": ("explorer.cli.sample", "render a grid of samples to PNG"),
    "morph": ("explorer.cli.morph", "render a two-point morph to GIF"),
    "project": ("explorer.cli.project", "project your own image into the latent space"),
    "directions": ("explorer.cli.directions", "compute and save latent feature directions"),
    "eval": ("explorer.cli.eval", "measure sample quality (JSON)"),
    "bench": ("explorer.cli.bench", "measure speed (JSON)"),
}


def build_parser(available: dict[str, object]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="main.py", description="Latent Lab: train small GANs and explore what they learned. "
        "Without a sub-command, opens the window.")
    parser.add_argument("--checkpoint", help="checkpoint file or run folder to open in the window")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in available.items():
        p = sub.add_parser(name, help=COMMANDS[name][1], description=COMMANDS[name][1])
        module.add_arguments(p)  # type: ignore[attr-defined]
    return parser


def _available_commands() -> dict[str, object]:
    out = {}
    for name, (mod, _) in COMMANDS.items():
        try:
            out[name] = importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name != mod:  # a real missing dependency, not a command that does not exist yet
                raise
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    commands = _available_commands()
    args = build_parser(commands).parse_args(argv)
    if args.command is None:
        return _gui(args)
    return int(commands[args.command].run(args) or 0)  # type: ignore[attr-defined]


def _no_display() -> bool:
    """On Linux without a display Qt aborts the process (no exception to catch): tell first."""
    env = os.environ
    return (sys.platform.startswith("linux") and not env.get("QT_QPA_PLATFORM")
            and not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"))


def _gui(args: argparse.Namespace) -> int:
    if _no_display():
        print("No display to open the window on (DISPLAY and WAYLAND_DISPLAY are not set).\n"
              "On a headless machine use the commands (python main.py --help: train, sample, "
              "morph, project, directions, eval, bench),\nor run the window on a virtual display: "
              "xvfb-run python main.py", file=sys.stderr)
        return 2
    try:
        from explorer.ui.app import run_app
    except ModuleNotFoundError as e:
        if e.name and e.name.startswith("explorer"):
            print("The Latent Lab window is not built yet; use the headless commands "
                  "(python main.py --help).", file=sys.stderr)
            return 2
        print(f"Cannot open the window: {e}. Install the GUI dependencies with "
              "'pip install -e .'", file=sys.stderr)
        return 2
    return run_app(args.checkpoint)


if __name__ == "__main__":
    sys.exit(main())
