"""The prompts of PROTOCOL.md part 6, word for word, templates and modalities."""

from __future__ import annotations

from pathlib import Path

import pytest

from ger_replay.errors import InputError
from ger_replay.protocol import datasets
from ger_replay.protocol.datasets import Task
from ger_replay.protocol.prompts import render_prompt, resolve_modality, template_from_option
from ger_replay.protocol.settings import RequestSettings

# PROTOCOL.md part 6, copied verbatim ({n} and {labels} left as placeholders).
PART6 = {
    "visual": "Please play the role of an emotion recognition expert. We provide {n} images. Please recognize sentiments evoked by these images (i.e., guess how viewer might emotionally feel after seeing these images.) If there is a person in the image, ignore that person's identity. For each image, please sort the provided categories from high to low according to the similarity with the image. Here are the optional categories: {labels}. The output format should be {'name':, 'result':} for each image.",  # noqa: E501
    "tweet": "Please play the role of an emotion recognition expert. We provide {n} image-text pairs. Please analyze how he will feel if he post this image-text pair on social media. If there is a person in the image, ignore that person's identity. For each image-text pair, please sort the provided categories from high to low according to the similarity with the input image-text pair. Here are the optional categories: {labels}. The output format should be {'name':, 'result':} for each image-text pair.",  # noqa: E501
    "micro": "Please play the role of a micro-expression recognition expert. We provide {n} images. For each image, please sort the provided categories from high to low according to the similarity with the input image. The expression may not be obvious, please pay attention to the details of the face. Here are the optional categories: {labels}. Please ignore the speaker's identity and focus on the facial expression. The output format should be {'name':, 'result':} for each image.",  # noqa: E501
    "facial1": "Please play the role of a facial expression classification expert. We provide {n} images. For each image, please sort the provided categories from high to low according to the top 5 similarity with the input image. Here are the optional categories: {labels}. Please ignore the speaker's identity and focus on the facial expression. The output format should be {'name':, 'result':} for each image.",  # noqa: E501
    "dynamic": "Please play the role of a video expression classification expert. We provide {n} videos, each with {k} temporally uniformly sampled frames. For each video, please sort the provided categories from high to low according to the top 5 similarity with the input video. Here are the optional categories: {labels}. Please ignore the speaker's identity and focus on the facial expression. The output format should be {'name':, 'result':} for each video.",  # noqa: E501
    "multi": "Please play the role of a video expression classification expert. We provide {n} videos, each with the speaker's content and {k} temporally uniformly sampled frames. Please ignore the speaker's identity and focus on their emotions. For each video, please sort the provided categories from high to low according to the top 5 similarity with the input video. Here are the optional categories: {labels}. Please ignore the speaker's identity and focus on their emotions. The output format should be {'name':, 'result':} for each video.",  # noqa: E501
}
TASK_TEXT = {
    Task.VISUAL_SENTIMENT: "visual",
    Task.TWEET_SENTIMENT: "tweet",
    Task.MICRO_EXPRESSION: "micro",
    Task.FACIAL_EMOTION: "facial1",
    Task.DYNAMIC_FACIAL: "dynamic",
    Task.MULTIMODAL: "multi",
}


def expected(text: str, n: int, labels: tuple[str, ...], k: int) -> str:
    return text.replace("{n}", str(n)).replace("{labels}", ", ".join(labels)).replace("{k}", str(k))


@pytest.mark.parametrize("key", sorted(datasets.DATASETS))
def test_every_dataset_gets_its_task_prompt_word_for_word(key: str) -> None:
    ds = datasets.get(key)
    got = render_prompt(ds, 7, RequestSettings(frames=2))
    assert got == expected(PART6[TASK_TEXT[ds.task]], 7, ds.labels, 2)


def test_facial_templates_2_and_3() -> None:
    ds = datasets.get("sfew2")
    one = expected(PART6["facial1"], 20, ds.labels, 3)
    two = render_prompt(ds, 20, RequestSettings(template="2"))
    three = render_prompt(ds, 20, RequestSettings(template="3"))
    first = "Please play the role of a facial expression classification expert. "
    assert two == one.removeprefix(first) and two.startswith("We provide 20 images.")
    assert three == one.replace(
        "sort the provided categories from high to low according to the top 5 similarity with "
        "the input image",
        "select the most likely category according to the correlation with the input image",
    )
    assert three != one


@pytest.mark.parametrize("key", ["twitter1", "casme", "dfew", "cmumosi", "mvsa_single"])
def test_templates_2_and_3_are_facial_only(key: str) -> None:
    for t in ("2", "3"):
        with pytest.raises(InputError, match="facial emotion only"):
            render_prompt(datasets.get(key), 4, RequestSettings(template=t))


def test_multimodal_modalities() -> None:
    ds = datasets.get("mer_multi")
    video = render_prompt(ds, 8, RequestSettings(modality="video", frames=3))
    assert video == expected(PART6["dynamic"], 8, ds.labels, 3)
    text = render_prompt(ds, 20, RequestSettings(modality="text"))
    assert text.startswith("Please play the role of a textual emotion classification expert.")
    assert "We provide 20 texts." in text and ", ".join(ds.labels) in text
    multi = render_prompt(ds, 6, RequestSettings(modality="multi"))
    assert multi == expected(PART6["multi"], 6, ds.labels, 3)
    with pytest.raises(InputError, match="not available"):
        render_prompt(datasets.get("sfew2"), 3, RequestSettings(modality="video"))


def test_resolve_modality_defaults() -> None:
    assert resolve_modality(datasets.get("cmumosi"), None) == "multi"
    assert resolve_modality(datasets.get("cmumosi"), "image") == "multi"
    assert resolve_modality(datasets.get("dfew"), "image") == "video"
    assert resolve_modality(datasets.get("mvsa_single"), "image") == "multi"
    assert resolve_modality(datasets.get("rafdb"), None) == "image"
    with pytest.raises(InputError):
        resolve_modality(datasets.get("dfew"), "text")


def test_user_template_keeps_other_braces() -> None:
    ds = datasets.get("twitter2")
    t = "Rank {labels} for {n} images ({k} frames). Reply {'name':, 'result':} like {\"a\": 1}."
    got = render_prompt(ds, 5, RequestSettings(template=t, frames=2))
    assert got == "Rank positive, negative for 5 images (2 frames). Reply {'name':, 'result':} " + (
        'like {"a": 1}.'
    )


def test_user_template_unknown_placeholder() -> None:
    with pytest.raises(InputError, match=r"\{labls\}"):
        render_prompt(datasets.get("sfew2"), 2, RequestSettings(template="Pick {labls} for {n}"))


def test_template_from_option(tmp_path: Path) -> None:
    assert template_from_option("2") == "2"
    f = tmp_path / "few_shot.txt"
    f.write_text("Examples first. Then {n} images; categories: {labels}.", encoding="utf-8")
    assert template_from_option(str(f)).startswith("Examples first.")
    with pytest.raises(InputError, match="not found"):
        template_from_option(str(tmp_path / "missing.txt"))
    bad = tmp_path / "bad.txt"
    bad.write_text("{count} images", encoding="utf-8")
    with pytest.raises(InputError) as e:
        template_from_option(str(bad))
    assert "bad.txt" in str(e.value)


def test_batch_of_zero() -> None:
    with pytest.raises(InputError):
        render_prompt(datasets.get("sfew2"), 0, RequestSettings())
