// Sparklines drawn by hand as SVG paths: x is time over the window, y runs from 0 to
// the largest value shown. A missing value (null: no request in that interval) breaks
// the line rather than drawing a zero that did not happen.

const NS = "http://www.w3.org/2000/svg";
export const WIDTH = 200;
export const HEIGHT = 40;
const PAD = 2;

function svg(tag, attributes) {
  const element = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  return element;
}

// The path of one line: "M x y L x y ..." with a new "M" after each gap.
export function pathOf(points, { from, to, top }) {
  const span = Math.max(to - from, 1e-9);
  const x = (t) => PAD + ((t - from) / span) * (WIDTH - 2 * PAD);
  const y = (v) => HEIGHT - PAD - (top > 0 ? (v / top) * (HEIGHT - 2 * PAD) : 0);
  let d = "";
  let drawing = false;
  for (const [t, v] of points) {
    if (v === null || v === undefined || t < from) {
      drawing = false;
      continue;
    }
    d += `${drawing ? "L" : "M"}${x(t).toFixed(1)} ${y(v).toFixed(1)} `;
    drawing = true;
  }
  return d.trim();
}

// lines: [{points: [[t, value]], kind}] drawn on one shared scale, `kind` a CSS class.
export function sparkline(lines, { from, to, label }) {
  const values = lines.flatMap((line) => line.points.map(([, v]) => v)).filter((v) => v !== null);
  const top = Math.max(0, ...values);
  const chart = svg("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    width: WIDTH,
    height: HEIGHT,
    role: "img",
    "aria-label": label,
    class: "sparkline",
  });
  chart.append(svg("line", { x1: 0, x2: WIDTH, y1: HEIGHT - PAD, y2: HEIGHT - PAD, class: "axis" }));
  for (const line of lines) {
    const d = pathOf(line.points, { from, to, top });
    if (d) chart.append(svg("path", { d, class: `line ${line.kind}` }));
  }
  return chart;
}
