"""The README's Python API example runs as written, on a small synthetic data set instead of Beauty."""
from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_python_api_example_runs(tmp_path, monkeypatch):
    text = README.read_text()
    code = re.search(r"## Python API\n\n```python\n(.*?)```", text, re.S).group(1)
    replacements = {
        'ssrec.load_dataset("Beauty.txt")': "ssrec.make_synthetic(num_users=60, num_items=40, max_len=20, seed=0)",
        "PretrainConfig(epochs=20)": "PretrainConfig(epochs=1)",
        'FinetuneConfig(loss="bce", protocol="full", seed=42)':
            'FinetuneConfig(loss="bce", protocol="full", seed=42, epochs=2)',
    }
    for old, new in replacements.items():
        assert old in code, f"README example changed: {old!r} is gone; update this test"
        code = code.replace(old, new)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, str(README), "exec"), namespace)
    assert {"aap", "mip", "map", "sp"} <= set(namespace["ssrec"].list_objectives())
    assert (tmp_path / "model.pt").exists()
