// The admin API as the page uses it: the token kept for this tab, authorized requests,
// and the dashboard's Server-Sent Events read with fetch() (EventSource cannot send the
// Authorization header, and a token in the URL would end up in logs and history).

const TOKEN_KEY = "gaia-admin-token";

export class Unauthorized extends Error {}

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  forget: () => sessionStorage.removeItem(TOKEN_KEY),
};

function headers(extra = {}) {
  return { authorization: `Bearer ${token.get()}`, ...extra };
}

// The admin API's error body says what went wrong; keep its message.
async function failure(response) {
  if (response.status === 401) {
    return new Unauthorized("the gateway refused this token (401 unauthorized)");
  }
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body && body.message) message = body.message;
  } catch {
    // not JSON: the status says enough
  }
  return new Error(message);
}

export async function request(method, path) {
  const response = await fetch(path, { method, headers: headers() });
  if (!response.ok) throw await failure(response);
  return response.json();
}

// Parses a stream of Server-Sent Events (the WHATWG rules: fields up to a blank line,
// `data` lines joined by newlines, comments ignored) and calls onEvent(name, data).
export class EventParser {
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.buffer = "";
    this.name = "";
    this.data = [];
  }

  push(text) {
    this.buffer += text;
    const lines = this.buffer.split(/\r\n|\r|\n/);
    this.buffer = lines.pop();
    for (const line of lines) this.line(line);
  }

  line(line) {
    if (line === "") {
      if (this.data.length) this.onEvent(this.name || "message", this.data.join("\n"));
      this.name = "";
      this.data = [];
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.name = value;
    else if (field === "data") this.data.push(value);
  }
}

// Follows GET /v1/dashboard as a stream until `signal` aborts; resolves when the
// server ends it, rejects on a network error or a refused token.
export async function follow(onEvent, signal) {
  const response = await fetch("/v1/dashboard", {
    headers: headers({ accept: "text/event-stream" }),
    cache: "no-store",
    signal,
  });
  if (!response.ok) throw await failure(response);
  const parser = new EventParser((name, data) => onEvent(name, JSON.parse(data)));
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    parser.push(value);
  }
}
