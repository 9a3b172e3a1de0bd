"""Any OpenAI-compatible chat-completions server: vLLM serve, llama.cpp server, Ollama, TGI, hosted APIs.

`--concurrency` requests are in flight; 429 and 5xx answers and dropped connections are retried with
exponential backoff that honours `Retry-After`. A server that still fails stops the stage with one line
(finished batches stay in the checkpoint). The answer's JSON schema goes in `response_format`; a server
that refuses `response_format` is asked again without it, and its free-text answers are parsed.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from pipeline.errors import IlidError
from pipeline.httputil import DEFAULT_USER_AGENT, backoff_seconds, retry_after_seconds
from pipeline.label.answer import answer_schema
from pipeline.label.backends import Generation
from pipeline.label.config import LabelConfig
from pipeline.label.prompt import messages
from pipeline.records import RawItem

RETRIED_STATUSES = {408, 409, 429, 500, 502, 503, 504}


class OpenAIBackend:
    name = "openai"
    default_batch_size = 64

    def __init__(self, config: LabelConfig):
        self.config = config
        self.url = config.base_url.rstrip("/") + "/chat/completions"
        self.session = requests.Session()
        self.session.headers["User-Agent"] = DEFAULT_USER_AGENT
        api_key = os.environ.get(config.api_key_env)
        if api_key:
            self.session.headers["Authorization"] = f"Bearer {api_key}"
        adapter = HTTPAdapter(pool_maxsize=config.concurrency)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.pool = ThreadPoolExecutor(config.concurrency, thread_name_prefix="label-request")
        self._schema_supported = True
        self._lock = threading.Lock()

    def request_body(self, item: RawItem) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.config.model,
            "messages": messages(item),
            "max_tokens": self.config.max_new_tokens,
            "seed": self.config.seed,
            "temperature": 0.0 if self.config.greedy else self.config.temperature,
            "top_p": 1.0 if self.config.greedy else self.config.top_p,
        }
        if self._schema_supported:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": "product_labels",
                    "schema": answer_schema(self.config.max_new_tokens),
                    "strict": True,
                },
            }
        return body

    def ask(self, item: RawItem) -> Generation:
        attempt = 0
        while True:
            body = self.request_body(item)
            wait = None
            try:
                response = self.session.post(self.url, json=body, timeout=self.config.timeout)
            except requests.RequestException as error:
                problem = f"{type(error).__name__}"
            else:
                if response.status_code == 200:
                    return self.generation(response.json())
                if (
                    response.status_code == 400
                    and "response_format" in body
                    and "response_format" in response.text
                ):
                    with self._lock:
                        self._schema_supported = False
                    continue
                if response.status_code not in RETRIED_STATUSES:
                    raise IlidError(f"{self.url}: HTTP {response.status_code}: {response.text[:200]}")
                problem = f"HTTP {response.status_code}"
                wait = retry_after_seconds(response.headers.get("Retry-After"))
            if attempt >= self.config.retries:
                raise IlidError(f"{self.url}: {problem}, still after {attempt} retries")
            time.sleep(backoff_seconds(attempt, 1.0, wait))
            attempt += 1

    def generation(self, answer: dict[str, Any]) -> Generation:
        try:
            text = answer["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            raise IlidError(f"{self.url}: the answer is not a chat completion: {str(answer)[:200]}") from None
        tokens = (answer.get("usage") or {}).get("completion_tokens") or 0
        return Generation(text, int(tokens))

    def label(self, items: list[RawItem]) -> list[Generation]:
        return list(self.pool.map(self.ask, items))
