"""The prompts of PROTOCOL.md part 6, word for word, and a researcher's own templates.

A template holds three placeholders: `{n}` (samples in the batch), `{labels}` (the candidate
labels, comma-separated as the public code writes them) and `{k}` (frames per video). Only these
three are replaced; every other brace (e.g. `{'name':, 'result':}`) is sent as written.

Templates "2" and "3" are the paper's template-robustness variants and exist for facial emotion
only; every other task has template "1" alone.

Modality (the multimodal datasets, where the paper ran text, video and both):
- "multi" (the default) sends the multimodal prompt of part 6;
- "video" sends the dynamic-facial prompt, since the samples are then videos and nothing else;
- "text" sends the public code's textual prompt ("Please play the role of a textual emotion
  classification expert ..."), which part 6 does not list.
Tweet sentiment always sends image-text pairs ("image" and "multi" both mean the pair).
"""

from __future__ import annotations

import re
from pathlib import Path

from ger_replay.errors import InputError
from ger_replay.protocol.datasets import Dataset, Task
from ger_replay.protocol.settings import RequestSettings

_FORMAT = "The output format should be {'name':, 'result':} for each"

VISUAL_SENTIMENT = (
    "Please play the role of an emotion recognition expert. We provide {n} images. Please "
    "recognize sentiments evoked by these images (i.e., guess how viewer might emotionally feel "
    "after seeing these images.) If there is a person in the image, ignore that person's "
    "identity. For each image, please sort the provided categories from high to low according to "
    "the similarity with the image. Here are the optional categories: {labels}. "
    + _FORMAT
    + " image."
)

TWEET_SENTIMENT = (
    "Please play the role of an emotion recognition expert. We provide {n} image-text pairs. "
    "Please analyze how he will feel if he post this image-text pair on social media. If there is "
    "a person in the image, ignore that person's identity. For each image-text pair, please sort "
    "the provided categories from high to low according to the similarity with the input "
    "image-text pair. Here are the optional categories: {labels}. " + _FORMAT + " image-text pair."
)

MICRO_EXPRESSION = (
    "Please play the role of a micro-expression recognition expert. We provide {n} images. For "
    "each image, please sort the provided categories from high to low according to the "
    "similarity with the input image. The expression may not be obvious, please pay attention to "
    "the details of the face. Here are the optional categories: {labels}. Please ignore the "
    "speaker's identity and focus on the facial expression. " + _FORMAT + " image."
)

_FACIAL_FIRST = "Please play the role of a facial expression classification expert. "
_FACIAL_SORT = (
    "sort the provided categories from high to low according to the top 5 similarity with the "
    "input image"
)
_FACIAL_SELECT = "select the most likely category according to the correlation with the input image"

FACIAL_EMOTION_1 = (
    _FACIAL_FIRST + "We provide {n} images. For each image, please " + _FACIAL_SORT + ". Here are "
    "the optional categories: {labels}. Please ignore the speaker's identity and focus on the "
    "facial expression. " + _FORMAT + " image."
)
#: Template #1 without its first sentence.
FACIAL_EMOTION_2 = FACIAL_EMOTION_1.removeprefix(_FACIAL_FIRST)
#: Template #1 asking for the most likely category instead of a top-5 sort.
FACIAL_EMOTION_3 = FACIAL_EMOTION_1.replace(_FACIAL_SORT, _FACIAL_SELECT)

DYNAMIC_FACIAL = (
    "Please play the role of a video expression classification expert. We provide {n} videos, "
    "each with {k} temporally uniformly sampled frames. For each video, please sort the provided "
    "categories from high to low according to the top 5 similarity with the input video. Here "
    "are the optional categories: {labels}. Please ignore the speaker's identity and focus on "
    "the facial expression. " + _FORMAT + " video."
)

MULTIMODAL = (
    "Please play the role of a video expression classification expert. We provide {n} videos, "
    "each with the speaker's content and {k} temporally uniformly sampled frames. Please ignore "
    "the speaker's identity and focus on their emotions. For each video, please sort the "
    "provided categories from high to low according to the top 5 similarity with the input "
    "video. Here are the optional categories: {labels}. Please ignore the speaker's identity and "
    "focus on their emotions. " + _FORMAT + " video."
)

#: The public code's text-only prompt (multimodal datasets, modality "text").
TEXT = (
    "Please play the role of a textual emotion classification expert. We provide {n} texts. "
    "Please recognize the speaker's expression from the provided text. For each text, please "
    "sort the provided categories from high to low according to the top 5 similarity with the "
    "input. Here are the optional categories: {labels}. " + _FORMAT + " text."
)

BUILTIN_IDS: tuple[str, ...] = ("1", "2", "3")
PLACEHOLDERS: tuple[str, ...] = ("n", "labels", "k")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

#: The modalities each task accepts; the first is its default.
TASK_MODALITIES: dict[Task, tuple[str, ...]] = {
    Task.VISUAL_SENTIMENT: ("image",),
    Task.TWEET_SENTIMENT: ("multi", "image"),
    Task.MICRO_EXPRESSION: ("image",),
    Task.FACIAL_EMOTION: ("image",),
    Task.DYNAMIC_FACIAL: ("video",),
    Task.MULTIMODAL: ("multi", "video", "text"),
}


def resolve_modality(dataset: Dataset, modality: str | None) -> str:
    """The modality a request for `dataset` sends: "image", "video", "text" or "multi".

    None means the dataset's own input. "image" (the default of `RequestSettings`) also means
    the dataset's own input where the task takes no image alone (videos, tweets, multimodal);
    any other modality the task does not take is an error."""
    allowed = TASK_MODALITIES[dataset.task]
    if modality is None or (modality == "image" and "image" not in allowed):
        return allowed[0]
    if dataset.task is Task.TWEET_SENTIMENT and modality == "image":
        return "multi"
    if modality not in allowed:
        raise InputError(
            f"modality {modality!r} is not available for {dataset.key} ({dataset.task.value}); "
            f"choose one of: {', '.join(allowed)}"
        )
    return modality


def builtin_template(dataset: Dataset, template_id: str, modality: str | None = None) -> str:
    """The template text of PROTOCOL.md part 6 for a dataset, template id and modality."""
    if template_id not in BUILTIN_IDS:
        raise InputError(f"unknown template {template_id!r}; built in: {', '.join(BUILTIN_IDS)}")
    task = dataset.task
    if template_id != "1" and task is not Task.FACIAL_EMOTION:
        raise InputError(
            f"template {template_id} is defined for facial emotion only; {dataset.key} "
            f"({task.value}) has template 1 (or pass your own template text)"
        )
    mod = resolve_modality(dataset, modality)
    if task is Task.FACIAL_EMOTION:
        return {"1": FACIAL_EMOTION_1, "2": FACIAL_EMOTION_2, "3": FACIAL_EMOTION_3}[template_id]
    if task is Task.VISUAL_SENTIMENT:
        return VISUAL_SENTIMENT
    if task is Task.TWEET_SENTIMENT:
        return TWEET_SENTIMENT
    if task is Task.MICRO_EXPRESSION:
        return MICRO_EXPRESSION
    if task is Task.DYNAMIC_FACIAL or mod == "video":
        return DYNAMIC_FACIAL
    if mod == "text":
        return TEXT
    return MULTIMODAL


def check_template(text: str, source: str | Path | None = None) -> None:
    """Raises InputError if a user template names a placeholder other than {n}, {labels}, {k}."""
    unknown = sorted({m for m in _PLACEHOLDER.findall(text) if m not in PLACEHOLDERS})
    if unknown:
        raise InputError(
            f"template has unknown placeholder(s) {', '.join('{' + u + '}' for u in unknown)}; "
            f"known: {{n}}, {{labels}}, {{k}}",
            source,
        )
    if not text.strip():
        raise InputError("template is empty", source)


def template_from_option(value: str) -> str:
    """A `--template` value: "1", "2", "3" stay as they are; anything else is a file whose text
    becomes the template (checked for unknown placeholders)."""
    if value in BUILTIN_IDS:
        return value
    path = Path(value)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("template file not found (built in templates: 1, 2, 3)", path) from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read template file: {e}", path) from None
    check_template(text, path)
    return text


def fill(template: str, n: int, labels: tuple[str, ...] | list[str], k: int) -> str:
    """Replaces {n}, {labels} and {k}; every other brace stays."""
    values = {"n": str(n), "labels": ", ".join(labels), "k": str(k)}
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def render_prompt(dataset: Dataset, n: int, settings: RequestSettings) -> str:
    """The prompt text of one batch of `n` samples."""
    if n < 1:
        raise InputError(f"a batch needs at least one sample, got n={n}")
    if settings.template in BUILTIN_IDS:
        template = builtin_template(dataset, settings.template, settings.modality)
    else:
        check_template(settings.template)
        template = settings.template
    return fill(template, n, dataset.labels, settings.frames)
