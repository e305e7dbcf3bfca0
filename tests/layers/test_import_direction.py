"""The import direction between our packages (README "Layers"), read from every module's imports.

A package may import the packages listed for it (and the core modules, and itself), nothing else:
so `ALLOWED` is the whole dependency graph, and a new edge is a decision made here, on purpose.
"""
import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORE = "core"  # recsaver_t5x's top-level modules (errors, scale, shapes, paths, argtypes, answer, ...)

# package -> packages it may import. Two columns under the entry points: the data side
# (data <- prompting <- teacher <- recsaver) and the model side (model <- trainer); metrics (`eval`)
# and core depend on nothing of ours.
ALLOWED = {
    CORE: set(),
    "eval": set(),
    "data": {"eval"},
    "prompting": {"data"},
    "teacher": {"baseline", "prompting", "data", "eval"},
    "recsaver": {"teacher", "prompting", "data", "eval"},
    "model": set(),
    "trainer": {"model", "eval"},
    "baseline": {"data", "eval"},
    "exp3rt": {"recsaver", "teacher", "prompting", "data", "eval", "baseline", "model", "trainer"},
    "tasks": {"exp3rt", "recsaver", "teacher", "prompting", "data", "eval"},
    "rerank": {"tasks", "exp3rt", "teacher", "trainer", "model", "prompting", "data", "eval"},
    "serve": {"trainer", "model", "prompting", "eval"},
    "annotate": {"serve", "recsaver", "prompting", "data"},
    # the run layout is the pipeline's, and the report reads a run
    "report": {"pipeline", "recsaver", "eval"},
    # stages are subcommands: the pipeline reads their flags through the cli's table
    "pipeline": {"cli", "tasks", "baseline", "recsaver", "teacher", "prompting", "data",
                 "trainer", "model", "eval"},
    "cli": set(),  # imports the subcommands by name only
    "seqio_tasks": {"tasks"},  # T5X-facing name of recsaver_t5x.tasks
}


def _package(module: str) -> str | None:
  parts = module.split(".")
  if parts[0] == "seqio_tasks":
    return "seqio_tasks"
  if parts[0] != "recsaver_t5x":
    return None
  if len(parts) == 1:
    return CORE
  if (ROOT / "recsaver_t5x" / parts[1]).is_dir():
    return parts[1]
  return "cli" if parts[1] == "cli" else CORE


def _imports(path: pathlib.Path):
  """(line, imported module) of every import in a file, also those inside functions."""
  for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
    if isinstance(node, ast.Import):
      for alias in node.names:
        yield node.lineno, alias.name
    elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
      yield node.lineno, node.module
      for alias in node.names:  # `from recsaver_t5x import answer` imports recsaver_t5x.answer
        yield node.lineno, f"{node.module}.{alias.name}"


def _edges():
  for top in ("recsaver_t5x", "seqio_tasks"):
    for path in sorted((ROOT / top).rglob("*.py")):
      rel = path.relative_to(ROOT)
      module = ".".join(rel.with_suffix("").parts)
      src = _package(module)
      for line, imported in _imports(path):
        dst = _package(imported)
        if dst and dst != src and not (imported.count(".") == 1 and dst == CORE
                                       and imported.split(".")[1] in ALLOWED):
          yield f"{rel}:{line}", src, dst, imported


def test_every_package_is_declared():
  pkgs = {p.name for p in (ROOT / "recsaver_t5x").iterdir()
          if p.is_dir() and (p / "__init__.py").exists()}
  assert pkgs <= set(ALLOWED), f"declare the layer of {sorted(pkgs - set(ALLOWED))} in ALLOWED"


def test_imports_follow_the_layers():
  bad = [f"{where}: {src} imports {imported} ({dst})" for where, src, dst, imported in _edges()
         if dst != CORE and dst not in ALLOWED[src]]
  assert not bad, "imports against the layers:\n" + "\n".join(bad)


def test_core_and_metrics_import_only_core():
  bad = [f"{where}: {imported}" for where, src, dst, imported in _edges()
         if src in (CORE, "eval") and dst != CORE]
  assert not bad, "\n".join(bad)
