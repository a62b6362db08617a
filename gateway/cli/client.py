"""The CLI's admin API client: finds the gateway and its token as DESIGN.md says."""

from __future__ import annotations

import json as json_module
import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx

from gateway.cli.errors import CliError
from gateway.home import TOKEN_FILE, home_from_env, how_found
from gateway.settings import DEFAULT_ADMIN_URL
from gateway.wire import NDJSON


def admin_token(environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    if env.get("GAIA_ADMIN_TOKEN"):
        return env["GAIA_ADMIN_TOKEN"]
    path = home_from_env(env) / TOKEN_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        raise CliError(
            f"no admin token: looked for {path} ({how_found(env)}); run gaia inside the "
            "project where `gaia up` runs, or set GAIA_HOME or GAIA_ADMIN_TOKEN"
        ) from None


class AdminClient:
    def __init__(self, *, url: str | None = None, token: str | None = None) -> None:
        self.url = (url or os.environ.get("GAIA_ADMIN_URL") or DEFAULT_ADMIN_URL).rstrip("/")
        self._token = token
        self._http: httpx.Client | None = None

    def _client(self) -> httpx.Client:
        if self._http is None:
            token = self._token or admin_token()
            self._http = httpx.Client(
                base_url=self.url,
                headers={"authorization": f"Bearer {token}"},
                # Publishing warms a revision, and apply may warm several.
                timeout=httpx.Timeout(120.0, connect=5.0),
            )
        return self._http

    def request(
        self,
        method: str,
        path: str,
        *,
        json: object = None,
        content: bytes | None = None,
        params: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        try:
            return self._client().request(method, path, json=json, content=content, params=params)
        except httpx.ConnectError:
            raise CliError(self._unreachable()) from None
        except httpx.TimeoutException:
            raise CliError(self._late()) from None

    def _unreachable(self) -> str:
        return (
            f"cannot reach the gaia admin API at {self.url}: is `gaia up` running? "
            "(set GAIA_ADMIN_URL if it listens elsewhere)"
        )

    def _late(self) -> str:
        return f"the gaia admin API at {self.url} did not answer in time"

    def stages(
        self, method: str, path: str, *, json: object, on_stage: Callable[[str, float], None]
    ) -> Any:
        """`call`, asking for the stages as they end (`Accept: application/x-ndjson`):
        `on_stage` is told of each, and the last line is the answer or its error."""
        try:
            with self._client().stream(
                method, path, json=json, headers={"accept": NDJSON}
            ) as response:
                if response.status_code >= 400:
                    response.read()
                    raise CliError(_error_text(response))
                last: Any = None
                for text in response.iter_lines():
                    if not text.strip():
                        continue
                    last = json_module.loads(text)
                    if isinstance(last, dict) and last.keys() == {"stage", "ms"}:
                        on_stage(str(last["stage"]), float(last["ms"]))
                        last = None
        except httpx.ConnectError:
            raise CliError(self._unreachable()) from None
        except httpx.TimeoutException:
            raise CliError(self._late()) from None
        if last is None:
            raise CliError(f"the gaia admin API at {self.url} ended its answer early")
        if isinstance(last, dict) and "error" in last and "message" in last:
            raise CliError(_error_body_text(last))
        return last

    def lines(self, path: str, *, params: Mapping[str, str], timeout: bool = True) -> Iterator[str]:
        """The non-empty lines of a GET answered as NDJSON, as they arrive; `timeout`
        False waits for each as long as it takes (a followed stream)."""
        try:
            with self._client().stream(
                "GET",
                path,
                params=params,
                headers={"accept": NDJSON},
                timeout=httpx.USE_CLIENT_DEFAULT if timeout else httpx.Timeout(None, connect=5.0),
            ) as response:
                if response.status_code >= 400:
                    response.read()
                    raise CliError(_error_text(response))
                for text in response.iter_lines():
                    if text.strip():
                        yield text
        except httpx.ConnectError:
            raise CliError(self._unreachable()) from None
        except httpx.TimeoutException:
            raise CliError(self._late()) from None

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise CliError(_error_text(response))
        return response.json()


def file_error_text(
    response: httpx.Response, *, file: str, line_of: Callable[[str], int | None]
) -> str:
    """An apply's error as a file's issues are printed, `FILE: KEY: message (line N)`,
    for each issue whose key is in the file; otherwise as any other error."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not body.get("field"):
        return _error_text(response)
    issues = body.get("errors") or [{"field": body["field"], "message": body.get("message")}]
    lines = []
    for issue in issues:
        field, message = str(issue.get("field")), str(issue.get("message"))
        line = line_of(field) if field else None
        if line is None:
            return _error_text(response)
        lines.append(f"{file}: {field}: {message.removeprefix(field + ': ')} (line {line})")
    return "\n".join(lines)


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {response.text.strip()}"
    if not isinstance(body, dict):
        return f"HTTP {response.status_code}: {body}"
    return _error_body_text(body)


def _error_body_text(body: dict[str, Any]) -> str:
    issues = body.get("errors")
    # Each issue alone, by its key: the message around them repeats the request's name.
    if isinstance(issues, list) and issues:
        return "\n".join(f"{i.get('field')}: {i.get('message')}" for i in issues)
    message = str(body.get("message", body))
    field = body.get("field")
    return f"{field}: {message}" if field and not message.startswith(str(field)) else message
