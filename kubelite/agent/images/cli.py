"""`kubelite image import|ls|rm|pull`: manage the node's image store from the shell."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from kubelite.agent.images import archive, pull, reference, registries, store


def add_parser(sub: argparse._SubParsersAction, data_dir: str) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("image", help="manage the node's image store")
    p.add_argument("--root", default=os.path.join(data_dir, "agent", "images"),
                   help="image store directory")
    p.add_argument("--registries", default=os.path.join(data_dir, "registries.yaml"),
                   help="registries config (mirrors, credentials), k3s registries.yaml format")
    verbs = p.add_subparsers(dest="image_command", required=True)
    verbs.add_parser("import", help="import a docker save archive or OCI layout tar").add_argument("file")
    verbs.add_parser("ls", help="list images")
    verbs.add_parser("rm", help="remove an image").add_argument("ref")
    pl = verbs.add_parser("pull", help="pull an image from a registry")
    pl.add_argument("ref")
    pl.add_argument("--timeout", type=float, default=30.0, help="seconds per registry request")


def run(args: argparse.Namespace) -> int:
    """Run one image verb; errors are one line on stderr and exit code 1."""
    images = store.Store(args.root)
    try:
        if args.image_command == "import":
            for image in archive.import_archive(images, args.file):
                print(f"imported {image.name} {image.id}")
        elif args.image_command == "ls":
            _print_table(images.list_images())
        elif args.image_command == "rm":
            for image in images.remove(args.ref):
                print(f"Deleted: {image.name}")
        elif args.image_command == "pull":
            config = registries.load(args.registries)
            image = asyncio.run(pull.pull(images, args.ref, config=config, timeout=args.timeout))
            print(f"Image is up to date for {image.name} {image.id}")
    except (ValueError, LookupError, pull.PullError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


def _print_table(images: list[store.Image]) -> None:
    rows = [("IMAGE", "TAG", "IMAGE ID", "SIZE")]
    for image in images:
        ref = reference.parse(image.name)
        rows.append((ref.repository, ref.tag or "<none>", image.id[7:20], _size(image.size)))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        print("   ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.3g}{unit}" if unit != "B" else f"{n}B"
        n /= 1000  # type: ignore[assignment]
    return f"{n}B"
