// Exports of the relation map built from plain data (no DOM, no library): GraphML and SVG
// text, escaped for XML, and the JSON form. Kept apart from graph.js so it stays readable.

// XML 1.0 allows neither most control characters nor lone surrogates, even escaped.
const NOT_XML = /[^\u0009\u000A\u000D\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;
const ENTITIES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" };

export function xmlEscape(value) {
  return String(value)
    .replace(NOT_XML, "\uFFFD")
    .replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

const NODE_KEYS = [
  ["label", "string"],
  ["count", "int"],
  ["group", "string"],
  ["x", "double"],
  ["y", "double"],
];
const EDGE_KEYS = [
  ["count", "int"],
  ["pmi", "double"],
  ["jaccard", "double"],
];

// graph: {kind, selection, directed?, nodes: [{id, label, count, group, x, y}], edges: [{source, target, count, pmi, jaccard}]}
// keys: the data written per node and per edge, [name, GraphML type] (the relation map's by default).
export function toGraphML(graph, keys = { node: NODE_KEYS, edge: EDGE_KEYS }) {
  const nodeKeys = keys.node;
  const edgeKeys = keys.edge;
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<graphml xmlns="http://graphml.graphdrawing.org/xmlns"' +
      ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"' +
      ' xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">',
  ];
  for (const [name, type] of nodeKeys) {
    out.push(`  <key id="n_${name}" for="node" attr.name="${name}" attr.type="${type}"/>`);
  }
  for (const [name, type] of edgeKeys) {
    out.push(`  <key id="e_${name}" for="edge" attr.name="${name}" attr.type="${type}"/>`);
  }
  out.push(`  <key id="g_selection" for="graph" attr.name="selection" attr.type="string"/>`);
  const direction = graph.directed ? "directed" : "undirected";
  out.push(`  <graph id="${xmlEscape(graph.kind || "graph")}" edgedefault="${direction}">`);
  out.push(`    <data key="g_selection">${xmlEscape(graph.selection || "")}</data>`);
  // Node ids are positions: the values themselves (any text) are labels.
  const ids = new Map();
  graph.nodes.forEach((n, i) => {
    ids.set(n.id, `n${i}`);
    const data = nodeKeys.map(([k]) => n[k] === undefined || n[k] === null ? "" :
      `<data key="n_${k}">${xmlEscape(n[k])}</data>`).join("");
    out.push(`    <node id="n${i}">${data}</node>`);
  });
  graph.edges.forEach((e, i) => {
    const s = ids.get(e.source);
    const t = ids.get(e.target);
    if (s === undefined || t === undefined) return;
    const data = edgeKeys.map(([k]) => e[k] === undefined || e[k] === null ? "" :
      `<data key="e_${k}">${xmlEscape(e[k])}</data>`).join("");
    out.push(`    <edge id="e${i}" source="${s}" target="${t}">${data}</edge>`);
  });
  out.push("  </graph>", "</graphml>", "");
  return out.join("\n");
}

const num = (v) => (Math.round(v * 100) / 100).toString();

// Shapes as drawn: nodes {label, x, y, size, colour}, edges {x1, y1, x2, y2, width, colour, opacity}.
export function toSVG(shapes, font) {
  const pad = 40;
  let [x1, y1, x2, y2] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const n of shapes.nodes) {
    x1 = Math.min(x1, n.x - n.size / 2);
    y1 = Math.min(y1, n.y - n.size / 2);
    x2 = Math.max(x2, n.x + n.size / 2);
    y2 = Math.max(y2, n.y + n.size / 2 + 16);
  }
  if (!shapes.nodes.length) [x1, y1, x2, y2] = [0, 0, 100, 100];
  const w = x2 - x1 + 2 * pad;
  const h = y2 - y1 + 2 * pad;
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${num(w)}" height="${num(h)}"` +
      ` viewBox="${num(x1 - pad)} ${num(y1 - pad)} ${num(w)} ${num(h)}">`,
    `<rect x="${num(x1 - pad)}" y="${num(y1 - pad)}" width="${num(w)}" height="${num(h)}" fill="#ffffff"/>`,
    '<g stroke-linecap="round">',
  ];
  for (const e of shapes.edges) {
    out.push(
      `<line x1="${num(e.x1)}" y1="${num(e.y1)}" x2="${num(e.x2)}" y2="${num(e.y2)}"` +
        ` stroke="${xmlEscape(e.colour)}" stroke-width="${num(e.width)}" stroke-opacity="${num(e.opacity)}"/>`,
    );
  }
  out.push("</g>", `<g font-family="${xmlEscape(font)}" font-size="11" text-anchor="middle" fill="#222">`);
  for (const n of shapes.nodes) {
    out.push(
      `<circle cx="${num(n.x)}" cy="${num(n.y)}" r="${num(n.size / 2)}" fill="${xmlEscape(n.colour)}"` +
        ` stroke="#ffffff" stroke-width="1"/>`,
      `<text x="${num(n.x)}" y="${num(n.y + n.size / 2 + 12)}">${xmlEscape(n.label)}</text>`,
    );
  }
  out.push("</g>", "</svg>", "");
  return out.join("\n");
}
