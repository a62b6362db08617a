// The dashboard page: asks for the admin token once per tab, then follows
// GET /v1/dashboard's event stream and redraws each panel as events arrive.

import { Unauthorized, follow, request, token } from "./api.js";
import { renderFunctions, renderMigration, renderPools, renderTriggers, specText } from "./render.js";

const $ = (id) => document.getElementById(id);

const view = {
  overview: null,
  series: new Map(), // "fn@3" -> samples, oldest first
  windowS: 900,
  intervalS: 5,
};
let stream = null; // the AbortController of the stream being read

function setConnection(state, text) {
  const badge = $("connection");
  badge.dataset.state = state;
  badge.textContent = text;
}

// The sparklines' time axis: the window, or less while the gateway is younger than it
// (a line squeezed into the last few pixels of 15 minutes shows nothing).
function range() {
  let to = -Infinity;
  let oldest = Infinity;
  for (const samples of view.series.values()) {
    if (!samples.length) continue;
    // The gateway's clock, not this machine's: the newest sample says what time it is.
    to = Math.max(to, samples[samples.length - 1].t);
    oldest = Math.min(oldest, samples[0].t);
  }
  if (to === -Infinity) to = oldest = Date.now() / 1000;
  const from = Math.min(Math.max(to - view.windowS, oldest), to - view.intervalS);
  return { from, to };
}

function describeRange({ from, to }) {
  const span = to - from;
  const shown = span >= 90 ? `${Math.round(span / 60)} min` : `${Math.round(span)} s`;
  return span >= view.windowS - view.intervalS
    ? `Sparklines: the last ${shown}, a sample every ${view.intervalS} s.`
    : `Sparklines: the ${shown} sampled so far (they grow to ${Math.round(view.windowS / 60)} min), a sample every ${view.intervalS} s.`;
}

function draw() {
  const overview = view.overview;
  if (!overview) return;
  const span = range();
  $("span").textContent = describeRange(span);
  renderFunctions($("functions"), overview.functions, view.series, span, askRollback);
  renderPools($("pools"), overview.pools);
  renderTriggers($("triggers"), overview.triggers);
  renderMigration($("migration"), $("migration-body"), overview.migration);
  document.body.dataset.updated = String(Date.now());
}

const handlers = {
  overview(data) {
    view.overview = data;
  },
  series(data) {
    view.windowS = data.window_s;
    view.intervalS = data.sample_interval_s;
    view.series = new Map(Object.entries(data.series));
  },
  sample(data) {
    for (const [name, sample] of Object.entries(data.samples)) {
      const samples = view.series.get(name) ?? [];
      samples.push(sample);
      while (samples.length && samples[0].t < sample.t - view.windowS) samples.shift();
      view.series.set(name, samples);
    }
  },
};

function showLogin(message) {
  stream?.abort();
  stream = null;
  $("dashboard").hidden = true;
  $("forget").hidden = true;
  $("login").hidden = false;
  const error = $("login-error");
  error.hidden = !message;
  error.textContent = message ?? "";
  setConnection("idle", "not connected");
  $("token").focus();
}

function showDashboard() {
  $("login").hidden = true;
  $("dashboard").hidden = false;
  $("forget").hidden = false;
}

// Follows the stream for as long as the tab is open, reconnecting after a lost
// connection with a growing pause; a refused token goes back to the login form.
async function connect() {
  const controller = new AbortController();
  stream = controller;
  let pause = 1;
  while (stream === controller) {
    setConnection("connecting", "connecting…");
    try {
      await follow((name, data) => {
        if (!handlers[name]) return;
        handlers[name](data);
        if (name !== "series") draw();
        if (name === "overview") {
          showDashboard();
          setConnection("live", "live");
          pause = 1;
        }
      }, controller.signal);
    } catch (error) {
      if (controller.signal.aborted) return;
      if (error instanceof Unauthorized) {
        token.forget();
        showLogin(`${error.message}: the admin token changed? Paste the one in GAIA_HOME/admin-token.`);
        return;
      }
    }
    if (stream !== controller) return;
    setConnection("lost", `connection lost, retrying in ${pause} s`);
    await new Promise((resolve) => setTimeout(resolve, pause * 1000));
    pause = Math.min(pause * 2, 30);
  }
}

async function login(event) {
  event.preventDefault();
  const candidate = $("token").value.trim();
  if (!candidate) return;
  token.set(candidate);
  try {
    await request("GET", "/v1/dashboard"); // checks the token before anything is shown
  } catch (error) {
    token.forget();
    const message =
      error instanceof Unauthorized
        ? `${error.message}: copy the token from GAIA_HOME/admin-token on the gateway's machine.`
        : `The admin API did not answer: ${error.message}`;
    showLogin(message);
    return;
  }
  $("token").value = "";
  connect();
}

let rollbackAlias = null;

function askRollback(alias) {
  rollbackAlias = alias;
  $("rollback-alias").textContent = alias.name;
  $("rollback-to").textContent = specText(alias.rollback_to);
  $("rollback-error").hidden = true;
  $("rollback-dialog").showModal();
}

async function rollback(event) {
  event.preventDefault();
  const alias = rollbackAlias;
  const [fn, name] = alias.name.split(":");
  const button = $("rollback-confirm");
  button.disabled = true;
  try {
    await request("POST", `/v1/functions/${encodeURIComponent(fn)}/aliases/${encodeURIComponent(name)}/rollback`);
    $("rollback-dialog").close("done"); // the stream brings the new traffic
  } catch (error) {
    const message = $("rollback-error");
    message.textContent = `Not rolled back: ${error.message}`;
    message.hidden = false;
  } finally {
    button.disabled = false;
  }
}

function start() {
  $("login-form").addEventListener("submit", login);
  $("forget").addEventListener("click", () => {
    token.forget();
    showLogin(null);
  });
  $("rollback-confirm").addEventListener("click", rollback);
  $("rollback-cancel").addEventListener("click", (event) => {
    event.preventDefault();
    $("rollback-dialog").close("cancel");
  });
  if (token.get()) connect();
  else showLogin(null);
}

start();
