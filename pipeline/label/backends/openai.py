"""Any OpenAI-compatible chat-completions server: vLLM serve, llama.cpp server, Ollama, TGI, hosted APIs.

`--concurrency` requests are in flight; 429 and 5xx answers and dropped connections are retried with
exponential backoff that honours `Retry-After`. A server that still fails stops the stage with one line
(finished batches stay in the checkpoint). The answer's JSON schema goes in `response_format`; a server
that refuses `response_format` is asked again without it, and its free-text answers are parsed.

JSON-schema decoding lets a model put whitespace between tokens, and a model that favours whitespace
never stops (vLLM's and xgrammar's trackers report it for real models). Such an answer is named
`whitespace_runaway`; at the end of the run the stage asks again for those items, with the remedy the
server takes per request (`remedied`): on vLLM, the schema as a regular expression of compact JSON in
`structured_outputs`, which has no room for whitespace. Per request, vLLM 0.32 ignores
`structured_outputs.disable_any_whitespace` (its xgrammar and guidance backends read only the server's
`--structured-outputs-config`) and the removed `guided_*` fields; a `repetition_penalty` does not stop it.
"""

from __future__ import annotations

import json
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
WHITESPACE_RUNAWAY = "whitespace_runaway"
SERVER_ADVICE = (
    "start the server so JSON answers carry no free whitespace; vLLM: --structured-outputs-config "
    """'{"backend": "xgrammar", "disable_any_whitespace": true}'"""
)


def ran_into_whitespace(text: str, finish_reason: str | None) -> bool:
    """Cut off at the token limit while emitting whitespace, or mostly whitespace."""
    if finish_reason == "length" and text[-8:].isspace():
        return True
    return sum(char.isspace() for char in text) > len(text) / 2


def compact_json_regex(schema: dict[str, Any]) -> str:
    """A regular expression of the flat answer object as compact JSON: keys in schema order, each
    value null or a string of its `pattern`, no whitespace outside strings. Negated character classes
    also exclude the control characters JSON forbids in strings."""

    def value(spec: dict[str, Any]) -> str:
        if "anyOf" in spec:
            return "(" + "|".join(value(option) for option in spec["anyOf"]) + ")"
        if spec.get("type") == "null":
            return "null"
        if spec.get("type") != "string" or "pattern" not in spec:
            raise ValueError(f"no compact regular expression for {spec}")
        pattern: str = spec["pattern"].removeprefix("^").removesuffix("$")
        return '"(' + pattern.replace("[^", "[^\\x00-\\x1f") + ')"'

    required = set(schema.get("required", ()))
    members = []
    for index, (key, spec) in enumerate(schema["properties"].items()):
        member = ("," if index else "") + json.dumps(key) + ":" + value(spec)
        members.append(member if key in required else f"({member})?")
    return "\\{" + "".join(members) + "\\}"


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
        self.compact_regex: str | None = None  # the remedy for runaways, set by `remedied`

    def request_body(self, item: RawItem) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.config.model,
            "messages": messages(item),
            "max_tokens": self.config.max_new_tokens,
            "seed": self.config.seed,
            "temperature": 0.0 if self.config.greedy else self.config.temperature,
            "top_p": 1.0 if self.config.greedy else self.config.top_p,
        }
        if self.compact_regex:
            body["structured_outputs"] = {"regex": self.compact_regex}
        elif self._schema_supported:
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
            choice = answer["choices"][0]
            text = choice["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            raise IlidError(f"{self.url}: the answer is not a chat completion: {str(answer)[:200]}") from None
        tokens = (answer.get("usage") or {}).get("completion_tokens") or 0
        runaway = ran_into_whitespace(text, choice.get("finish_reason"))
        return Generation(text, int(tokens), WHITESPACE_RUNAWAY if runaway else None)

    def label(self, items: list[RawItem]) -> list[Generation]:
        return list(self.pool.map(self.ask, items))

    def server_software(self) -> str | None:
        """Who serves the model, as `/models` says (`owned_by`), or None where it does not say."""
        try:
            response = self.session.get(self.url.removesuffix("/chat/completions") + "/models", timeout=10)
            return str(response.json()["data"][0]["owned_by"]) if response.ok else None
        except (requests.RequestException, ValueError, KeyError, IndexError, TypeError):
            return None

    def remedied(self) -> OpenAIBackend | None:
        """A backend for asking again after whitespace runaways, or None where the server takes no
        remedy per request that ilid knows (only vLLM's `structured_outputs` regex is known)."""
        try:
            regex = compact_json_regex(answer_schema(self.config.max_new_tokens))
        except ValueError:  # a schema beyond flat strings and nulls: no remedy rather than a wrong one
            return None
        if self.server_software() != "vllm":
            return None
        backend = OpenAIBackend(self.config)
        backend.compact_regex = regex
        return backend
