"""Prompt text: the system prompt of an env's language spec, the per-turn user text, the answer format.

These strings are what the tiny offline model's tokenizer is trained on (:mod:`vlenvs_train.models.tiny`):
change them and the tokenizer, the cached tiny model and the CPU recipe's numbers change with them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from vlenvs.core.language import LanguageSpec

AnswerFormat = Literal["think", "answer"]
ANSWER_FORMATS = ("think", "answer")
PromptStyle = Literal["full", "compact"]
PROMPT_STYLES = ("full", "compact")


def answer_format_text(fmt: AnswerFormat) -> str:
    if fmt == "think":
        return "Think briefly inside <think>...</think>, then give your answer inside <answer>...</answer>."
    return "Reply with your answer inside <answer>...</answer> and nothing else."


def system_prompt(spec: LanguageSpec, action_names: Sequence[str], fmt: AnswerFormat,
                  style: PromptStyle = "full") -> str:
    """The system prompt: task, legal actions (or answer form) and answer format.

    ``style="compact"`` is one line (env name, legal actions, answer tags) for small models trained from
    scratch, whose attention a long preamble dilutes; ``"full"`` explains the task for pretrained models.
    """
    if style == "compact":
        choices = " ".join(action_names) if spec.action_kind == "discrete" else (spec.answer_hint or "answer")
        tags = "<think>...</think><answer>...</answer>" if fmt == "think" else "<answer>...</answer>"
        return f"{spec.name}. Actions: {choices}. Reply {tags}"
    lines = [f"You are an agent in the {spec.name} environment. {spec.task}"]
    if spec.action_kind == "discrete":
        lines.append("Legal actions (answer with exactly one action name):")
        lines += [f"- {a}: {spec.action_help.get(a, a.replace('_', ' '))}" for a in action_names]
        example = action_names[0] if action_names else "..."
    else:
        lines.append(f"Your answer is {spec.answer_hint or 'your final answer'}.")
        example = "..."
    lines.append(answer_format_text(fmt))
    if fmt == "think":
        lines.append(f"Example: <think>short reasoning</think><answer>{example}</answer>")
    else:
        lines.append(f"Example: <answer>{example}</answer>")
    return "\n".join(lines)


def user_text(instruction: str, step: int, feedback: str = "", style: PromptStyle = "full") -> str:
    """The text part of one turn's user message (``compact``: the instruction without the step number)."""
    head = f"{feedback.strip()}\n" if feedback else ""
    if style == "compact":
        return f"{head}{instruction}"
    return f"{head}Step {step}. Instruction: {instruction}"
