"""A take set on one picture: ``python -m tools.take_sheet OUT.png JOB [JOB ...]``.

One row per job folder (a take), every frame of it labelled with its timeline frame, under a caption
with what the take's manifest records (seed, engine, sampler, steps, motion), so takes can be
compared at a glance (the add-on's Variants make such a set)."""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image, ImageDraw

from mpd_backend.contact_sheet import LABEL_HEIGHT, contact_sheet
from mpd_backend.contract.job_folder import read_manifest


def caption(folder: Path, manifest: dict) -> str:
    params = manifest["parameters"]
    recorded = [f"seed {params['seed']}", params["engine"]]
    if params["engine"] == "svd":
        recorded += [params["sampler"], f"{params['steps']} steps", f"motion {params['motion_bucket_id']}",
                     f"noise {params['noise_aug_strength']:g}", f"{params['fps']} fps"]
    return f"{folder.name}: {', '.join(recorded)}"


def take_row(folder: Path) -> Image.Image:
    manifest = read_manifest(folder)
    if not manifest:
        raise SystemExit(f"{folder} is not a complete job folder (no manifest)")
    frames = [Image.open(folder / name) for name in manifest["frames"]]
    keys = [key["frame"] for key in manifest["keys"]]
    sheet = contact_sheet(frames, keys[0], keys, columns=len(frames))
    row = Image.new("RGB", (sheet.width, sheet.height + LABEL_HEIGHT), "white")
    row.paste(sheet, (0, LABEL_HEIGHT))
    ImageDraw.Draw(row).text((4, 2), caption(folder, manifest), fill="black")
    return row


def take_sheet(folders: list[Path]) -> Image.Image:
    rows = [take_row(folder) for folder in folders]
    sheet = Image.new("RGB", (max(r.width for r in rows), sum(r.height for r in rows)), "white")
    y = 0
    for row in rows:
        sheet.paste(row, (0, y))
        y += row.height
    return sheet


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.take_sheet", description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the PNG to write (must not exist)")
    parser.add_argument("jobs", type=Path, nargs="+", help="the takes' job folders, in order")
    args = parser.parse_args(argv)
    if args.out.exists():
        raise SystemExit(f"{args.out} already exists: it is not overwritten")
    take_sheet(args.jobs).save(args.out)
    print(f"{len(args.jobs)} takes: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
