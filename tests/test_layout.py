"""The package's layering, read from its source (``ast``): every import of a lafr module, at module
level or inside a function, is an edge.  The rules (README, "Architecture"):

* no import cycle among lafr's modules;
* every module sits on a layer, and imports only from its own layer or below;
* ``config`` imports nothing of lafr;
* ``data``, ``datasets``, ``synthetic`` and ``degrade`` import no model, training or metric module;
* inference never imports training: ``models``, ``vae``, ``unet``, ``adapter``, ``pipeline`` (and
  the commands that only restore or judge) import no training or pretraining module;
* the loss's networks and the metrics (``losses``, ``facenets``, ``metrics``, ``judges``,
  ``results``) import no training or pretraining module.

A new module must be given a layer in ``LAYERS`` (README, "Architecture").
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "lafr"

LAYERS = [  # bottom to top
    {"lafr", "config", "provenance"},
    {"synthetic", "degrade", "datasets", "data", "regions", "viz", "analysis", "paper"},
    {"models", "vae", "unet", "adapter", "dlibnet", "photos"},
    {"pipeline", "losses", "facenets", "judges", "results"},
    {"train", "checkpoints", "pretrain", "pretrain_decoder", "pretrain_facenets", "metrics"},
    {"cli", "cli_train", "cli_restore", "cli_evaluate", "widgets", "__main__"},
]
MODEL = {"models", "vae", "unet", "adapter", "pipeline", "facenets", "losses"}
TRAINING = {"train", "checkpoints", "cli_train"}
PRETRAINING = {"pretrain", "pretrain_decoder", "pretrain_facenets"}
METRIC = {"metrics", "judges", "results", "dlibnet", "cli_evaluate"}

RULES = [  # (modules, what they must not import, why)
    ({"config"}, "everything", "config imports nothing of lafr"),
    (
        {"data", "datasets", "synthetic", "degrade"},
        MODEL | TRAINING | PRETRAINING | METRIC,
        "no model, training or metric module",
    ),
    (
        {"models", "vae", "unet", "adapter", "pipeline", "cli_restore", "cli_evaluate"},
        TRAINING | PRETRAINING,
        "inference never imports training",
    ),
    (
        {"losses", "facenets", "metrics", "judges", "results"},
        TRAINING | PRETRAINING,
        "loss networks and metrics import no (pre)training module",
    ),
]


def _module_names() -> set[str]:
    return {"lafr" if p.stem == "__init__" else p.stem for p in PACKAGE.glob("*.py")}


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The lafr modules one file imports, anywhere in it (``import lafr.x``, ``from lafr import x``,
    ``from lafr.x import y``, relative imports)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "lafr":
                    found.add(parts[1] if len(parts) > 1 else "lafr")
        elif isinstance(node, ast.ImportFrom):
            module = ("lafr." + (node.module or "")).rstrip(".") if node.level else (node.module or "")
            parts = module.split(".")
            if parts[0] != "lafr":
                continue
            if len(parts) > 1:
                found.add(parts[1])
            else:  # from lafr import x: a module, or a name of the package itself
                found |= {a.name if a.name in modules else "lafr" for a in node.names}
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the lafr modules it imports (itself left out)."""
    modules = _module_names()
    graph = {}
    for path in PACKAGE.glob("*.py"):
        name = "lafr" if path.stem == "__init__" else path.stem
        graph[name] = _imports(path, modules) - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (a list of modules, first == last), or None."""
    state, stack = {}, []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for n in sorted(graph.get(m, ())):
            if state.get(n) == "open":
                return stack[stack.index(n) :] + [n]
            if n not in state and (cycle := visit(n)):
                return cycle
        state[m] = "done"
        stack.pop()
        return None

    for m in sorted(graph):
        if m not in state and (cycle := visit(m)):
            return cycle
    return None


def violations(graph: dict[str, set[str]]) -> list[str]:
    """Every broken rule of the module docstring, one line each."""
    layer = {m: i for i, group in enumerate(LAYERS) for m in group}
    found = [f"{m}: not on a layer (add it to LAYERS)" for m in sorted(graph) if m not in layer]
    for m, imported in sorted(graph.items()):
        for n in sorted(imported):
            if m in layer and n in layer and layer[n] > layer[m]:
                found.append(f"{m} (layer {layer[m]}) imports {n} (layer {layer[n]}): a module imports only from below")
        for modules, forbidden, why in RULES:
            if m in modules:
                bad = imported if forbidden == "everything" else imported & forbidden
                found += [f"{m} imports {n}: {why}" for n in sorted(bad)]
    if cycle := find_cycle(graph):
        found.append("import cycle: " + " -> ".join(cycle))
    return found


def test_the_graph_sees_the_package():
    graph = import_graph()
    assert {"config", "pipeline", "train", "metrics", "cli"} <= set(graph)
    assert "models" in graph["pipeline"] and "adapter" in graph["pipeline"]  # module-level and function-level
    assert "train" in graph["cli_train"]


def test_the_package_keeps_its_layers():
    assert violations(import_graph()) == []


# The false cases: one forbidden import added to the real graph must be reported.
FORBIDDEN = [
    ("pipeline", "train"),  # inference importing training
    ("adapter", "train"),
    ("config", "data"),  # config importing anything
    ("data", "models"),  # data importing a model
    ("degrade", "metrics"),
    ("losses", "pretrain"),  # a loss network importing pretraining
    ("metrics", "pretrain_facenets"),
    ("synthetic", "cli"),  # up the layers
    ("train", "cli_train"),  # a cycle (cli_train imports train)
]


@pytest.mark.parametrize("module, imported", FORBIDDEN, ids=lambda x: str(x))
def test_a_forbidden_import_is_reported(module, imported):
    graph = import_graph()
    assert imported not in graph[module], "already imported: choose another false case"
    graph[module] = graph[module] | {imported}
    assert violations(graph)


def test_a_function_level_import_counts(tmp_path):
    (tmp_path / "mod.py").write_text("def f():\n    from lafr.train import train_lora\n    import lafr.pretrain\n")
    assert _imports(tmp_path / "mod.py", {"train", "pretrain"}) == {"train", "pretrain"}


def test_the_readme_shows_the_same_layers():
    """README's "Architecture" table lists each layer's modules as LAYERS does (the package itself and
    ``__main__`` aside)."""
    import re

    readme = (PACKAGE.parent / "README.md").read_text()
    rows = dict(re.findall(r"^\| (\d) \| (.+?) \|$", readme, re.M))
    shown = {int(k): set(re.findall(r"`(\w+)`", v)) for k, v in rows.items()}
    assert shown == {i: group - {"lafr", "__main__"} for i, group in enumerate(LAYERS)}
