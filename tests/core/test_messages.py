"""Every message and hint the add-on can show speaks Blender: it names panel settings and
preferences, never a command-line flag. Read from the source: each string given to an error (and
each note and hint constant), phrased as the add-on phrases it (``errors.phrase``)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from mpd_backend.contract.errors import OOM_HINT, SETTING_NAMES, phrase

REPO = Path(__file__).resolve().parents[2]
MESSAGE_CALLS = {"BackendError", "RequestError", "UserError", "ErrorEvent", "show_end", "report"}
# Only the command line reaches these: their messages may name flags.
COMMAND_LINE_ONLY = {"mpd_backend/cli.py", "mpd_backend/batch_runner.py", "mpd_backend/contract/farm_batch.py:parse_shot_range"}


def shipped_modules() -> list[Path]:
    skip = ("tests", "tools", "mpd_testing", "build", "out", "docs", "farm")
    return [p for p in REPO.rglob("*.py") if not p.relative_to(REPO).parts[0].startswith((".", *skip))]


def string_parts(node) -> list[str]:
    """The literal text of a string constant or an f-string."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return [v.value for v in node.values if isinstance(v, ast.Constant)]
    return []


def messages(path: Path) -> list[tuple[str, str]]:
    """(where, text) of every literal given to an error, a report or a note in ``path``."""
    name = path.relative_to(REPO).as_posix()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    function_of = {}  # each call's innermost function (ast.walk meets outer functions first)
    for function in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
        function_of.update({id(call): function.name for call in ast.walk(function) if isinstance(call, ast.Call)})
    found = []
    for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
        where = f"{name}:{function_of.get(id(call), '')}"
        if name in COMMAND_LINE_ONLY or where in COMMAND_LINE_ONLY:
            continue
        callee = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
        if callee in MESSAGE_CALLS or (callee == "append" and "note" in ast.unparse(call.func.value)):
            found += [(f"{where}:{call.lineno}", text) for arg in [*call.args, *(k.value for k in call.keywords)]
                      for text in string_parts(arg)]
    return found


def test_the_scan_finds_messages_and_would_find_a_flag():
    found = [text for path in shipped_modules() for _, text in messages(path)]
    assert len(found) > 100 and any("Inbetween panel" in text for text in found)
    assert "--" in OOM_HINT.replace("{size}", "--width") and "--" not in phrase(OOM_HINT, "blender")


@pytest.mark.parametrize("setting", sorted(SETTING_NAMES))
def test_each_setting_is_named_for_both_fronts(setting):
    command_line, blender = SETTING_NAMES[setting]
    assert command_line and blender and "--" not in blender


def test_no_message_or_hint_the_add_on_shows_names_a_flag():
    flags = [(where, text) for path in shipped_modules() for where, text in messages(path) if "--" in phrase(text, "blender")]
    assert not flags, flags
