"""Links into the Memory lab: the query parameters that open it on a task and its settings.

The key `lab` names the task (its tab); the settings' own URL keys (declared beside the fields of
`RecallConfig` and `AddConfig`) carry the rest, so another page can open the lab on a lesson with
`st.switch_page(LAB_PAGE, query_params=lab_params(NOTEBOOK_RECALL))`.
"""

from __future__ import annotations

from collections.abc import Mapping

from rnnviz.classroom.urlstate import config_from_params, config_to_params
from rnnviz.memory.tasks import AddConfig, RecallConfig

LAB_PAGE = "pages/memory_lab.py"
LAB_KEY = "lab"  # which task: a key of LABS
LABS: dict[str, type[RecallConfig] | type[AddConfig]] = {"recall": RecallConfig, "add": AddConfig}


def lab_params(config: RecallConfig | AddConfig) -> dict[str, str]:
    """The query parameters that open the lab on `config`: its task and every linked setting."""
    task = next(key for key, cls in LABS.items() if isinstance(config, cls))
    return {LAB_KEY: task, **config_to_params(config, every=True)}


def lab_from_params(
    params: Mapping[str, str],
) -> tuple[str, RecallConfig | AddConfig, list[str]]:
    """(task, its config, what could not be used) from a link; no `lab` key means recall."""
    task = params.get(LAB_KEY, "recall")
    errors = [] if task in LABS else [f"{LAB_KEY}={task!r} is not one of {list(LABS)}"]
    task = task if task in LABS else "recall"
    config, more = config_from_params(LABS[task], params)
    return task, config, errors + more
