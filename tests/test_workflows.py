"""The CI workflows under .github/workflows run what the README says they run."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    block = re.search(r"## Quick start.*?```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S).group(1)
    return [line.strip() for line in block.splitlines() if line.strip() and not line.startswith("#")]


def _steps(name: str) -> tuple[dict, list[str]]:
    flow = yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())
    job = next(iter(flow["jobs"].values()))
    return flow, job, [s.get("run", "") for s in job["steps"]]


def test_the_cpu_workflow_runs_the_readmes_two_commands_on_every_push():
    flow, job, runs = _steps("cpu.yml")
    triggers = flow[True] if True in flow else flow["on"]  # YAML 1.1 reads a bare `on` as true
    assert "push" in triggers and job["runs-on"] == "ubuntu-latest"
    commands = _readme_commands()
    assert len(commands) == 2
    script = "\n".join(runs)
    for command in commands:
        assert command in script, command


def test_the_gpu_workflow_runs_the_notebooks_in_the_paper_profile_on_a_gpu_runner():
    flow, job, runs = _steps("gpu.yml")
    triggers = flow[True] if True in flow else flow["on"]
    assert "workflow_dispatch" in triggers and triggers["schedule"][0]["cron"]
    assert job["runs-on"] == ["self-hosted", "gpu"] and job["env"]["LAFR_PROFILE"] == "paper"
    assert any("pytest notebooks/" in r for r in runs)  # nbval runs the notebooks (pyproject's addopts)
    cache = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/cache"))
    for var in ("LAFR_CACHE", "HF_HOME"):
        assert job["env"][var].split("/")[-1] in cache["with"]["path"]
