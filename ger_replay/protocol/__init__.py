"""The GER benchmark protocol: datasets, label folding, prompts."""

from ger_replay.protocol.datasets import DATASETS, Binary, Dataset, Task, get
from ger_replay.protocol.labels import LabelSpace, default_synonyms, fold

__all__ = ["DATASETS", "Binary", "Dataset", "LabelSpace", "Task", "default_synonyms", "fold", "get"]
