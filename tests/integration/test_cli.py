"""The `pacta` command line, run as a user would."""

import json
import os
import subprocess
import sys

import pytest

from agent.demo import SCRIPTS

pytestmark = pytest.mark.integration


def pacta(*args, env_extra=None, stdin=None, tmp_path=None):
    env = {**os.environ, **(env_extra or {})}
    if tmp_path is not None:
        env["PACTA_DATA_DIR"] = str(tmp_path / "data")
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )


def test_demo_plays_three_conversations_to_their_ends(tmp_path):
    done = pacta("demo", tmp_path=tmp_path, env_extra={"COLUMNS": "200"})
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for script in SCRIPTS:
        assert script.title in out
        assert f"stage {script.expected_stage}" in out
    assert "Agreement" in out and "active" in out and "pending_approval" in out
    # The demo used a temporary database, not the configured one.
    assert not (tmp_path / "data" / "pacta.sqlite").exists()


def test_classify_reads_and_writes_json_lines(tmp_path):
    lines = [
        {"text": "puedo pagar 500 al mes"},
        {"text": "ok", "last_agent_message": "¿Confirmas el plan de 3 cuotas? Responde sí o no."},
        {"text": "no me escriban más"},
    ]
    stdin = "\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n"
    done = pacta("classify", "-", stdin=stdin, tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    out = [json.loads(x) for x in done.stdout.splitlines()]
    assert [o["intent"] for o in out] == ["counteroffer", "accept", "opt_out"]
    for o, given in zip(out, lines, strict=True):
        assert o["text"] == given["text"]
        assert isinstance(o["objections"], list)
        assert 0 <= o["confidence"] <= 1


def test_classify_reports_bad_lines_and_keeps_going(tmp_path):
    stdin = '{"text": "hola"}\nnot json\n{"nope": 1}\n{"text": "ya pagué"}\n'
    done = pacta("classify", stdin=stdin, tmp_path=tmp_path)
    assert done.returncode == 1
    out = [json.loads(x) for x in done.stdout.splitlines()]
    assert len(out) == 4
    assert out[1]["line"] == 2 and "error" in out[1]
    assert out[2]["line"] == 3 and "error" in out[2]
    assert out[3]["intent"] == "already_paid"


def test_import_and_chat(tmp_path):
    csv_file = tmp_path / "accounts.csv"
    csv_file.write_text(
        "reference,debtor_name,phone,document_last4,currency,principal,days_past_due\n"
        "T-1,Marta Gil,5512340000,2468,MXN,3000,40\n"
        "T-2,Sin Monto,5512340001,,MXN,,40\n",
        encoding="utf-8",
    )
    done = pacta("import", str(csv_file), tmp_path=tmp_path)
    assert done.returncode == 1  # one bad row
    assert "created 1" in done.stdout
    assert "line 3" in done.stderr
    chat = pacta("chat", "--account", "T-1", stdin="hola\n2468\n/salir\n", tmp_path=tmp_path)
    assert chat.returncode == 0, chat.stderr
    assert "verify_identity" in chat.stdout and "inform" in chat.stdout
    unknown = pacta("chat", "--account", "NOPE", stdin="", tmp_path=tmp_path)
    assert unknown.returncode == 2 and "No account" in unknown.stderr
