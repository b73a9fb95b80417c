"""``doctor``: what this backend environment can do. Never downloads anything."""

from __future__ import annotations

import os
import platform

from .contract.errors import BackendError


def _gib(n: int) -> float:
    return round(n / 2**30, 2)


def devices() -> list[dict]:
    import torch

    found = []
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            free, total = torch.cuda.mem_get_info(index)
            found.append({"device": f"cuda:{index}", "name": torch.cuda.get_device_name(index), "free_gib": _gib(free), "total_gib": _gib(total)})
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        found.append({"device": "mps", "name": "Apple GPU"})
    cpu = {"device": "cpu", "name": platform.processor() or platform.machine(), "cores": os.cpu_count()}
    try:
        import psutil

        memory = psutil.virtual_memory()
        cpu.update(free_gib=_gib(memory.available), total_gib=_gib(memory.total))
    except ImportError:
        pass
    found.append(cpu)
    return found


def model_status(model: str) -> dict:
    from .svd.loading import find_model

    try:
        folder = find_model(model, offline=True)
    except BackendError as err:
        return {"model": model, "found": False, "problem": err.message, "hint": err.hint}
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return {"model": model, "found": True, "folder": str(folder), "size_gib": _gib(size)}


def auto_settings() -> dict:
    """What ``--device auto --dtype auto`` and the default low-VRAM choice settle at here."""
    from .svd.loading import resolve_device, resolve_dtype, wants_low_vram

    device = resolve_device("auto")
    return {"device": device, "dtype": str(resolve_dtype("auto", device)).removeprefix("torch."), "low_vram": wants_low_vram(device)}


def rife_status() -> dict:
    """Whether the RIFE engine can run here, and its licence (the preferences show both)."""
    from .rife.rife_net import LICENCE, rife_problem

    problem = rife_problem()
    return {"available": problem is None, "problem": problem, "licence": LICENCE}


def doctor_report(model: str) -> dict:
    from .runner import versions

    report = {"versions": versions(), "devices": devices(), "auto": auto_settings(), "model": model_status(model),
              "rife": rife_status()}
    import accelerate

    report["versions"]["accelerate"] = accelerate.__version__
    return report


def format_report(report: dict) -> str:
    lines = ["versions:"]
    lines += [f"  {name} {version}" for name, version in report["versions"].items()]
    lines.append("devices:")
    for d in report["devices"]:
        memory = f", {d['free_gib']} of {d['total_gib']} GiB free" if "free_gib" in d else ""
        lines.append(f"  {d['device']}: {d['name']}{memory}")
    auto = report["auto"]
    lines.append(f"auto: {auto['device']}, {auto['dtype']}, low-VRAM mode {'on' if auto['low_vram'] else 'off'}")
    m = report["model"]
    if m["found"]:
        lines.append(f"model: {m['model']} found at {m['folder']} ({m['size_gib']} GiB)")
    else:
        lines.append(f"model: {m['model']} NOT found: {m['problem']}\n  hint: {m['hint']}")
    rife = report["rife"]
    lines.append(f"rife: {'ready' if rife['available'] else 'NOT available: ' + rife['problem']} ({rife['licence']})")
    return "\n".join(lines)
