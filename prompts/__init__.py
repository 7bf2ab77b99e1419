"""Prompt templates, offline reply templates and playbook examples (data, versioned)."""

from pathlib import Path

PROMPTS_DIR = Path(__file__).parent
