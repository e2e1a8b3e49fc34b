"""Live updates across processes: `sapa run` (2 gunicorn workers + a queue worker), real HTTP."""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading

import pytest
import requests

from tests.factories import LINE_SECRET, line_body, line_signature, line_text
from tests.processes import interrupt
from tests.test_end_to_end import ROOT, SAPA, free_port, wait_until_up

USER = "U5555555555555555555555555555555e"


@pytest.mark.slow
def test_a_webhook_handled_by_other_processes_reaches_the_staff_stream(tmp_path, fake_line, nlu_model_path):
    env = {**os.environ, "SAPA_ENV": "development", "SAPA_DATABASE_URL": f"sqlite:///{tmp_path}/sapa.db",
           "SAPA_QUEUE_URL": f"sqlite:///{tmp_path}/queue.db", "SAPA_LINE__CHANNEL_SECRET": LINE_SECRET,
           "SAPA_LINE__ACCESS_TOKEN": fake_line.access_token, "SAPA_LINE__API_BASE": fake_line.url,
           "SAPA_NLU__MODEL_PATH": nlu_model_path, "SAPA_INBOX__LIVE_POLL_SECONDS": "0.2"}
    subprocess.run(SAPA + ["db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True, timeout=60)
    subprocess.run(SAPA + ["user", "add", "agent@shop.test", "--role", "agent"], env=env, cwd=ROOT, check=True,
                   input="correct-horse-battery\n", capture_output=True, text=True, timeout=60)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(SAPA + ["run", "--port", str(port)], env=env, cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until_up(f"{base}/healthz", process)
        browser = requests.Session()
        token = re.search(r'name="csrf-token" content="([^"]+)"', browser.get(f"{base}/inbox/login").text)[1]
        login = browser.post(f"{base}/inbox/login", data={"email": "agent@shop.test", "csrf_token": token,
                                                          "password": "correct-horse-battery"}, allow_redirects=False)
        assert login.status_code == 302
        events: list[tuple[str, dict]] = []
        seen = threading.Event()

        def listen():
            with browser.get(f"{base}/inbox/events", stream=True, timeout=30) as stream:
                name = None
                for line in stream.iter_lines(decode_unicode=True):
                    if line.startswith("event: "):
                        name = line[7:]
                    elif line.startswith("data: ") and name:
                        events.append((name, json.loads(line[6:])))
                        if name == "message":
                            seen.set()
                            return

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        body = line_body(line_text("halo admin", user=USER))
        assert requests.post(f"{base}/webhooks/line", data=body, timeout=5, headers={
            "Content-Type": "application/json", "X-Line-Signature": line_signature(body)}).status_code == 200
        assert seen.wait(20), events  # stored by one web process, processed by the worker, streamed by another
        conversation_id = next(data["conversation_id"] for name, data in events if name == "message")
        page = browser.get(f"{base}/inbox/c/{conversation_id}")
        token = re.search(r'name="csrf-token" content="([^"]+)"', page.text)[1]
        fake_line.reset()
        reply = browser.post(f"{base}/inbox/c/{conversation_id}/reply", data={"csrf_token": token, "text": "Halo!"},
                             allow_redirects=False)
        assert reply.status_code == 303
        push = fake_line.wait_for("/v2/bot/message/push", timeout=20)[0]  # sent by the queue worker process
        assert push.json["messages"][0]["text"] == "Halo!" and push.headers.get("X-Line-Retry-Key")
    finally:
        interrupt(process)
