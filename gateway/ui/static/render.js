// Builds each panel of the page from the dashboard's data. Every string goes in as text,
// never as HTML, so names from the gateway cannot inject markup.

import { sparkline } from "./sparkline.js";

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") element.textContent = value;
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  element.append(...children.flat().filter((c) => c !== null && c !== undefined));
  return element;
}

// Wide tables scroll inside their panel rather than widening the page.
function table(headers, rows, attributes = {}) {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      attributes,
      h("thead", {}, h("tr", {}, headers.map((text) => h("th", { text })))),
      h("tbody", {}, rows),
    ),
  );
}

const number = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
const fmt = (value, unit = "") => (value === null || value === undefined ? "–" : `${number.format(value)}${unit}`);
const percent = (ratio) => (ratio === null || ratio === undefined ? "–" : `${number.format(ratio * 100)}%`);

export function ago(epochSeconds, now = Date.now() / 1000) {
  const s = Math.max(0, now - epochSeconds);
  if (s < 60) return `${Math.round(s)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

const when = (epochSeconds) =>
  h("time", { datetime: new Date(epochSeconds * 1000).toISOString(), title: new Date(epochSeconds * 1000).toLocaleString(), text: ago(epochSeconds) });

// A revision's colour: the same revision number is the same colour in every bar.
const hue = (revision) => `rev-${Number(revision) % 6}`;

function entryLabel(entry) {
  const revision = entry.revision === "latest" ? `latest (@${entry.resolved_revision ?? "?"})` : `@${entry.revision}`;
  return `${entry.tag ? `${entry.tag} ` : ""}${revision} ${fmt(entry.percent)}%`;
}

export function specText(spec) {
  if (!spec) return "nothing (created)";
  const parts = spec.traffic.map(entryLabel);
  return parts.join(", ") + (spec.sticky ? ` (sticky ${spec.sticky})` : "");
}

// An alias's traffic split: a bar of segments as wide as their percent, with a legend
// that also lists tagged revisions at 0%.
export function split(alias) {
  const bar = h("div", { class: "split", role: "img", "aria-label": `${alias.name}: ${specText(alias)}` });
  const legend = h("ul", { class: "legend" });
  for (const entry of alias.traffic) {
    const revision = entry.resolved_revision ?? entry.revision;
    const attributes = {
      "data-revision": entry.revision,
      "data-tag": entry.tag ?? "",
      "data-percent": entry.percent,
    };
    if (entry.percent > 0) {
      const segment = h("div", { ...attributes, class: `segment ${hue(revision)}`, title: entryLabel(entry) }, h("span", { text: entryLabel(entry) }));
      segment.style.width = `${entry.percent}%`;
      bar.append(segment);
    }
    legend.append(h("li", attributes, h("span", { class: `swatch ${hue(revision)}` }), h("span", { text: entryLabel(entry) })));
  }
  return [bar, legend];
}

// Panels are redrawn on every event: which histories the user opened survives that.
const openHistories = new Set();

function history(alias) {
  const items = [...alias.history].reverse().map((change) =>
    h(
      "li",
      {},
      when(change.at),
      h("span", { class: "by", text: ` ${change.by}: ` }),
      h("span", { text: `${specText(change.from)} → ${specText(change.to)}` }),
    ),
  );
  const details = h(
    "details",
    { class: "history", open: openHistories.has(alias.name) },
    h("summary", { text: `History (${alias.history.length}${alias.history.length >= 10 ? "+" : ""})` }),
    items.length ? h("ol", {}, items) : h("p", { class: "muted", text: "no change yet" }),
  );
  details.addEventListener("toggle", () => {
    if (details.open) openHistories.add(alias.name);
    else openHistories.delete(alias.name);
  });
  return details;
}

function aliasView(alias, onRollback) {
  const rollback = h("button", {
    type: "button",
    class: "rollback",
    "data-alias": alias.name,
    disabled: alias.rollback_to === null,
    title: alias.rollback_to ? `back to ${specText(alias.rollback_to)}` : "nothing to roll back to",
    text: "Roll back…",
  });
  rollback.addEventListener("click", () => onRollback(alias));
  return h(
    "div",
    { class: "alias", "data-alias": alias.name },
    h(
      "div",
      { class: "alias-head" },
      h("strong", { text: alias.name }),
      alias.sticky ? h("span", { class: "muted", text: ` sticky ${alias.sticky}` }) : null,
      alias.ready ? null : h("span", { class: "badge warn", text: "not ready" }),
      h("span", { class: "spacer" }),
      rollback,
    ),
    split(alias),
    history(alias),
  );
}

const METRICS = [
  { key: "requests_per_s", label: "req/s", unit: "/s", lines: [["requests_per_s", "rate"]] },
  { key: "error_ratio", label: "errors", ratio: true, lines: [["error_ratio", "errors"]] },
  { key: "p95_ms", label: "p50 / p95", unit: " ms", lines: [["p50_ms", "p50"], ["p95_ms", "p95"]] },
];

function trends(samples, range) {
  const last = samples.length ? samples[samples.length - 1] : null;
  return METRICS.map((metric) => {
    const lines = metric.lines.map(([field, kind]) => ({ kind, points: samples.map((s) => [s.t, s[field]]) }));
    const value = last ? last[metric.key] : null;
    let shown = metric.ratio ? percent(value) : fmt(value, metric.unit);
    if (metric.key === "p95_ms") shown = `${fmt(last?.p50_ms ?? null)} / ${fmt(value, " ms")}`;
    return h(
      "td",
      { class: "trend", "data-metric": metric.key, "data-value": value ?? "" },
      sparkline(lines, { ...range, label: `${metric.label} over the last 15 minutes` }),
      h("span", { class: "value", text: shown }),
    );
  });
}

export function renderFunctions(container, functions, series, range, onRollback) {
  container.replaceChildren(
    ...functions.map((fn) => {
      const rows = [...fn.revisions].reverse().map((revision) =>
        h(
          "tr",
          { "data-revision": revision.name },
          h("td", {}, h("span", { class: `swatch ${hue(revision.revision)}` }), h("strong", { text: `@${revision.revision}` }), revision.latest ? h("span", { class: "badge", text: "latest" }) : null),
          h("td", {}, when(revision.created_at)),
          h("td", { class: "mono", title: revision.digest, text: revision.digest.slice(0, 12) }),
          h("td", { text: revision.aliases.join(", ") || "–" }),
          trends(series.get(revision.name) ?? [], range),
        ),
      );
      return h(
        "article",
        { class: "function", "data-function": fn.name },
        h("h3", {}, h("span", { text: fn.name }), h("small", { class: "muted", text: fn.latest ? ` latest @${fn.latest}` : " no ready revision" })),
        h("div", { class: "aliases" }, fn.aliases.map((alias) => aliasView(alias, onRollback))),
        table(["revision", "created", "digest", "serving", "requests", "errors", "latency p50 / p95"], rows, { class: "revisions" }),
      );
    }),
  );
  if (!functions.length) container.replaceChildren(h("p", { class: "muted", text: "No function deployed yet." }));
}

export function renderPools(container, pools) {
  if (!pools.length) {
    container.replaceChildren(h("p", { class: "muted", text: "No warm pool." }));
    return;
  }
  const fields = ["ready", "busy", "starting", "in_flight", "queued", "cold_starts"];
  const rows = pools.map((pool) =>
    h(
      "tr",
      { "data-pool": pool.revision },
      h("td", { text: pool.revision }),
      fields.map((field) => h("td", { "data-field": field, class: "num", text: pool[field] })),
    ),
  );
  container.replaceChildren(table(["revision", "warm", "busy", "starting", "in flight", "queued", "cold starts"], rows));
}

// The state fields shown as figures, in this order, for whichever kind reports them.
const COUNTERS = [
  ["in_flight", "in flight"],
  ["processed", "processed"],
  ["retried", "retried"],
  ["dead_lettered", "dead-lettered"],
  ["lag", "lag"],
  ["stuck", "stuck"],
  ["pending", "pending"],
  ["ack_pending", "ack pending"],
  ["redelivered", "redelivered"],
  ["lost", "lost"],
  ["claimed", "claimed"],
  ["failed", "failed"],
  ["skipped", "skipped"],
  ["missed", "missed"],
];

function partitions(state) {
  const rows = state.partitions.map((p) =>
    h(
      "tr",
      { "data-partition": `${p.topic}/${p.partition}`, class: p.stuck ? "stuck" : null },
      h("td", { text: p.topic }),
      h("td", { class: "num", text: p.partition }),
      h("td", { class: "num", text: fmt(p.committed) }),
      h("td", { class: "num", text: fmt(p.highwater) }),
      h("td", { class: "num lag", "data-lag": p.lag ?? "", text: fmt(p.lag) }),
      h("td", { class: "num", text: p.in_flight }),
      h("td", { text: p.stuck ? `at ${p.stuck.offset}: ${p.stuck.error}` : "" }),
    ),
  );
  return table(["topic", "partition", "committed", "highwater", "lag", "in flight", "stuck"], rows, { class: "partitions" });
}

function stuckEntries(state) {
  const rows = state.stuck_entries.map((e) =>
    h("tr", {}, h("td", { class: "mono", text: e.entry }), h("td", { text: e.error }), h("td", {}, when(e.since))),
  );
  return table(["entry", "error", "since"], rows, { class: "stuck-entries" });
}

function runs(list) {
  const rows = list.map((run) =>
    h(
      "tr",
      { "data-outcome": run.outcome },
      h("td", {}, when(run.scheduled)),
      h("td", {}, h("span", { class: `badge ${run.outcome}`, text: run.outcome })),
      h("td", { class: "num", text: run.started && run.ended ? fmt((run.ended - run.started) * 1000, " ms") : "–" }),
      h("td", { class: "num", text: run.attempts }),
      h("td", { text: run.error ?? "" }),
    ),
  );
  return table(["scheduled", "outcome", "took", "attempts", "error"], rows, { class: "runs" });
}

export function renderTriggers(container, triggers) {
  if (!triggers.length) {
    container.replaceChildren(h("p", { class: "muted", text: "No trigger." }));
    return;
  }
  container.replaceChildren(
    ...triggers.map((trigger) => {
      const state = trigger.state;
      const figures = state
        ? COUNTERS.filter(([key]) => state[key] !== undefined && state[key] !== null).map(([key, label]) =>
            h("div", { class: "figure", "data-field": key }, h("dt", { text: label }), h("dd", { text: fmt(state[key]) })),
          )
        : [];
      return h(
        "article",
        { class: "trigger", "data-trigger": trigger.id, "data-kind": trigger.kind },
        h(
          "div",
          { class: "trigger-head" },
          h("strong", { text: trigger.id }),
          h("span", { class: "muted", text: ` ${trigger.source} → ${trigger.target}` }),
          h("span", { class: "spacer" }),
          state ? h("span", { class: `badge ${state.status}`, text: state.status }) : null,
        ),
        state && state.error ? h("p", { class: "error", text: state.error }) : null,
        state && state.next ? h("p", { class: "muted", text: `next tick ${new Date(state.next).toLocaleString()}` }) : null,
        figures.length ? h("dl", { class: "figures" }, figures) : null,
        state && state.partitions && state.partitions.length ? partitions(state) : null,
        state && state.stuck_entries && state.stuck_entries.length ? stuckEntries(state) : null,
        trigger.runs && trigger.runs.length ? runs(trigger.runs) : null,
      );
    }),
  );
}

const STATES = ["legacy", "shadow", "canary", "function", "retired"];

export function renderMigration(section, body, migration) {
  section.hidden = migration === null;
  if (migration === null) return;
  const counts = Object.fromEntries(STATES.map((s) => [s, 0]));
  for (const route of migration.routes) counts[route.state] += 1;
  const share = migration.taken_over;
  const bar = h("div", { class: "split taken-over", role: "img", "aria-label": `taken over: ${percent(share)}` });
  const done = h("div", { class: "segment rev-1" });
  done.style.width = `${(share ?? 0) * 100}%`;
  bar.append(done);
  const rows = migration.routes.map((route) =>
    h(
      "tr",
      { "data-route": route.path, "data-state": route.state },
      h("td", { class: "mono", text: route.path }),
      h("td", { text: route.methods.join(", ") }),
      h("td", {}, h("span", { class: `badge ${route.state}`, text: route.state })),
      h("td", { class: "num", text: route.percent === null ? "–" : `${fmt(route.percent)}%` }),
      h("td", { text: route.function ?? "–" }),
      h("td", { text: route.next ? (route.next.allowed ? `${route.next.state}: ready` : `${route.next.state}: ${route.next.reasons.join("; ")}`) : "–" }),
    ),
  );
  body.replaceChildren(
    h(
      "p",
      { class: "headline", "data-taken-over": share ?? "" },
      h("strong", { text: percent(share) }),
      h("span", { text: ` of the old API's traffic answered by functions (${migration.served_by_functions} of ${migration.requests} requests)` }),
    ),
    bar,
    h(
      "ul",
      { class: "states" },
      STATES.map((s) => h("li", { "data-state": s, "data-count": counts[s] }, h("span", { class: `badge ${s}`, text: s }), h("span", { text: ` ${counts[s]}` }))),
    ),
    table(["route", "methods", "state", "percent", "function", "next gate"], rows, { class: "ledger" }),
  );
}
