"""Orbax checkpoints of the training state, in T5X's directory layout, with the data position.

`<model_dir>/checkpoint_<step>/state`   {'target': params, 'state': {'step', 'param_states'}}
                                        (T5X's tree: `load_t5x_checkpoint` reads `target`)
`<model_dir>/checkpoint_<step>/dataset` JSON: batches consumed and the data config they came from.

Orbax writes each checkpoint to a temporary directory and renames it when complete, so a kill -9
at any moment leaves only complete checkpoints visible; keep-last-N deletes older ones.
"""
from __future__ import annotations

import os
from typing import Any, Optional

import jax
import numpy as np
import orbax.checkpoint as ocp


def _key_name(k: Any) -> str:
  for attr in ("key", "name", "idx"):
    if hasattr(k, attr):
      return str(getattr(k, attr))
  return str(k)


def tree_to_nested_dict(tree: Any) -> dict:
  """Any pytree (optax NamedTuples included) -> nested dicts of its leaves by path.

  Empty containers vanish (they hold no arrays); `nested_dict_to_tree` restores the structure
  from a template of the same pytree type.
  """
  out: dict = {}
  for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
    node = out
    names = [_key_name(k) for k in path] or ["value"]
    for name in names[:-1]:
      node = node.setdefault(name, {})
    node[names[-1]] = leaf
  return out


def nested_dict_to_tree(nested: dict, template: Any) -> Any:
  paths_leaves, treedef = jax.tree_util.tree_flatten_with_path(template)
  leaves = []
  for path, _ in paths_leaves:
    node = nested
    for name in [_key_name(k) for k in path] or ["value"]:
      node = node[name]
    leaves.append(node)
  return jax.tree_util.tree_unflatten(treedef, leaves)


class Checkpointer:
  """Saves/restores (params, optimizer state, step, data position) under `model_dir`."""

  def __init__(self, model_dir: str, keep: Optional[int] = None, async_save: bool = True):
    options = ocp.CheckpointManagerOptions(
        max_to_keep=keep, step_prefix="checkpoint", enable_async_checkpointing=async_save,
        create=True, cleanup_tmp_directories=True)
    self.directory = os.path.abspath(model_dir)
    self._manager = ocp.CheckpointManager(self.directory, options=options,
                                          item_names=("state", "dataset"))

  def latest_step(self) -> Optional[int]:
    self._manager.reload()
    return self._manager.latest_step()

  def all_steps(self) -> list[int]:
    self._manager.reload()
    return list(self._manager.all_steps())

  def save(self, step: int, params: Any, opt_state: Any, data_position: dict) -> None:
    state = {"target": params,
             "state": {"step": np.asarray(step, np.int32),
                       "param_states": tree_to_nested_dict(opt_state)}}
    self._manager.save(int(step), args=ocp.args.Composite(
        state=ocp.args.StandardSave(state), dataset=ocp.args.JsonSave(data_position)),
        force=True)

  def restore(self, step: int, abstract_params: Any, abstract_opt_state: Any
              ) -> tuple[Any, Any, dict]:
    """(params, opt_state, data_position); arrays land with the templates' shardings."""
    target = {"target": abstract_params,
              "state": {"step": jax.ShapeDtypeStruct((), np.int32),
                        "param_states": tree_to_nested_dict(abstract_opt_state)}}
    restored = self._manager.restore(int(step), args=ocp.args.Composite(
        state=ocp.args.StandardRestore(target), dataset=ocp.args.JsonRestore()))
    state = restored["state"]
    opt_state = nested_dict_to_tree(state["state"]["param_states"], abstract_opt_state)
    return state["target"], opt_state, dict(restored["dataset"])

  def wait(self) -> None:
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.wait_until_finished()
    self._manager.close()
