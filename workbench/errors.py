"""Error classes of the Workbench.

Every error a user can cause derives from :class:`WorkbenchError` and says *where* (file,
layer, line) and *what* is wrong, so that a notebook, the CLI or a scheduler can show it as it
is. Errors that describe bad input also derive from :class:`ValueError`, so generic callers
that catch ``ValueError`` keep working.
"""

from __future__ import annotations


class WorkbenchError(Exception):
    """Base class of every error the Workbench raises on purpose."""


class InputError(WorkbenchError, ValueError):
    """The input (a file, a parameter, a profile) is not something the Workbench can use."""


class DXFError(InputError):
    """A DXF file cannot be turned into pocket regions.

    Attributes:
        path: the file, as given.
        layer: the layer concerned, or ``None`` when the error is about the whole file.
    """

    def __init__(self, message: str, *, path: str | None = None, layer: str | None = None) -> None:
        where = []
        if path is not None:
            where.append(str(path))
        if layer is not None:
            where.append(f"layer {layer!r}")
        super().__init__(f"{': '.join(where)}: {message}" if where else message)
        self.path = path
        self.layer = layer


class GCodeError(InputError):
    """A G-code program cannot be read.

    Attributes:
        line: 1-based source line number (``None`` when not tied to one line).
        word: the offending word or fragment, when there is one.
    """

    def __init__(self, message: str, *, line: int | None = None, word: str | None = None,
                 path: str | None = None) -> None:
        where = []
        if path is not None:
            where.append(str(path))
        if line is not None:
            where.append(f"line {line}")
        text = message if word is None else f"{message} (word {word!r})"
        super().__init__(f"{', '.join(where)}: {text}" if where else text)
        self.line = line
        self.word = word
        self.path = path


class MachineProfileError(InputError):
    """A machine profile (JSON, or a grbl ``$$`` dump) is missing, malformed or implausible."""


class PostError(InputError):
    """A post-processor definition is missing or malformed."""


class PlanningError(WorkbenchError, ValueError):
    """A toolpath cannot be planned with the given region and parameters
    (for example a tool larger than the pocket)."""
