"""The one error type every reader raises for malformed input."""
from __future__ import annotations

from pathlib import Path

MAX_PROBLEM = 400  # characters of a problem sentence; a longer one is cut in the middle


class DataFormatError(ValueError):
    """Malformed input data. The message names the file, the line (when there is one) and the problem.

    Attributes:
        path: the offending file, or None for in-memory data.
        line: 1-based line number in ``path``, or None when the problem is not tied to one line.
        problem: what is wrong and what was expected, as one sentence.
    """

    def __init__(self, path: str | Path | None, line: int | None, problem: str) -> None:
        if len(problem) > MAX_PROBLEM:  # a quoted token may be anything: keep the sentence short
            problem = f"{problem[:MAX_PROBLEM - 80]} [... {len(problem) - MAX_PROBLEM + 40} characters ...] " \
                      f"{problem[-40:]}"
        self.path = None if path is None else str(path)
        self.line = line
        self.problem = problem
        where = self.path if self.path is not None else "<in-memory data>"
        if line is not None:
            where = f"{where}:{line}"
        super().__init__(f"{where}: {problem}")
