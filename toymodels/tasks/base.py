"""What every task dataclass shares: its arrays by name."""

from __future__ import annotations

import dataclasses

import numpy as np


class TaskData:
    """Mixin of the frozen task dataclasses: `arrays()` gives every NumPy field by name."""

    def arrays(self) -> dict[str, np.ndarray]:
        """The task's NumPy arrays by field name (for saving, comparing, or `torch.from_numpy`)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)  # type: ignore[arg-type]
                if isinstance(getattr(self, f.name), np.ndarray)}
