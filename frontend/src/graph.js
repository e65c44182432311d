// The relation map, drawn by Cytoscape.js. Nodes are tags (or words) sized
// by how many items hold them and coloured by namespace (or language); edges join values
// that occur on the same item, their width following count, PMI or Jaccard. The
// "indicators" kind draws reports instead, coloured by source, joined when they mention
// the same indicators (an edge's values name them).
// Everything shown from the data is set as text (textContent, cytoscape labels), never
// parsed as HTML.
//
// The layout is ForceAtlas2 (Gephi's, for co-occurrence networks) with the Barnes–Hut
// approximation, run on a plain graphology copy of what is shown; cytoscape then places
// the nodes. fCoSE was tried first and measured on the project's machine (2 cores):
// 28 s for 1,000 nodes and 121 s for 2,000 (its spectral pass alone 2.6 s), where
// ForceAtlas2 takes about 13 ms an iteration at 2,000 nodes and 8,000 edges.
import cytoscape from "cytoscape";
import Graph from "graphology";
import forceAtlas2 from "graphology-layout-forceatlas2";
import { download as save, getJSON } from "./fetching.js";
import { toGraphML, toSVG } from "./graph-export.js";
import { t } from "./i18n.js";

// Above BIG nodes nothing is animated; above HUGE the canvas draws a cached picture
// while panning and zooming, and at device pixel ratio 1.
const BIG = 300;
const HUGE = 1000;
// Above this the many-body forces are approximated (Barnes–Hut): exact costs n².
const BARNES_HUT = 500;
const EXPAND_SIZE = 40;
const FONT = '"Noto Sans CJK JP", "Noto Sans JP", "Hiragino Sans", "Yu Gothic UI", "Meiryo", system-ui, sans-serif';
const EDGE_COLOUR = "#8a94a6";
const LANG_COLOURS = { ja: "#b5332e", en: "#1f5fa8" };
const PALETTE = [
  "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
  "#e377c2", "#17becf", "#bcbd22", "#393b79", "#637939", "#843c39",
];

const $ = (id) => document.getElementById(id);
const box = $("cy");
const ui = {
  status: $("graph-status"),
  legend: $("graph-legend"),
  measure: $("graph-measure"),
  minWeight: $("graph-min-weight"),
  minWeightValue: $("graph-min-weight-value"),
  find: $("graph-find"),
  names: $("graph-node-names"),
  relayout: $("graph-relayout"),
  unhide: $("graph-unhide"),
  panel: $("node-panel"),
  title: $("node-title"),
  meta: $("node-meta"),
  expand: $("node-expand"),
  hide: $("node-hide"),
  search: $("node-search"),
  focus: $("node-focus"),
  items: $("node-items"),
  itemsStatus: $("node-items-status"),
};
const KINDS = ["tags", "words", "indicators"];
const kind = KINDS.includes(box.dataset.kind) ? box.dataset.kind : "tags";
const NO_GROUP = { tags: t("(no namespace)"), words: "?", indicators: t("(no source)") };
const field = kind === "tags" ? "tag" : "keyword";
let cy = null;
let current = null; // the node whose panel is open
let itemsRequest = 0;
const groupsOff = new Set();

// -- helpers -------------------------------------------------------------------------------

function setStatus(text) {
  ui.status.textContent = text;
}


// The query language has no escape for a quote inside quotes.
const quoted = (value) => `"${String(value).replaceAll('"', "")}"`;
const narrowed = (base, value) => `${base ? base + " " : ""}${field}:${quoted(value)}`;

function hashColour(group) {
  if (kind === "words") return LANG_COLOURS[group] || "#666";
  if (!group) return "#7a7a7a";
  let h = 0;
  for (const c of group) h = (h * 31 + c.codePointAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length];
}

const download = (blob, ext) => save(blob, `kizashi-${kind}-map.${ext}`);

// Node size follows the square root of its count (area, not radius, for count); edge
// width the chosen weight. Both are data from the start, computed here rather than set
// on thousands of elements after they exist.
const nodeSize = (count, max) => 12 + 48 * Math.sqrt(count / Math.max(max, 1));
const edgeWidth = (value, max) => 0.6 + 7.4 * (max > 0 ? value / max : 0);

const nodeElement = (n, max) => ({
  group: "nodes",
  data: {
    id: n.id,
    label: n.label ?? n.id,
    count: n.count,
    group: n.group ?? "",
    size: nodeSize(n.count, max),
    colour: hashColour(n.group ?? ""),
  },
});
const edgeId = (a, b) => (a < b ? `${a}\u001f${b}` : `${b}\u001f${a}`);
const edgeElement = (e, max) => ({
  group: "edges",
  data: {
    id: edgeId(e.source, e.target),
    source: e.source,
    target: e.target,
    count: e.count,
    pmi: e.pmi,
    jaccard: e.jaccard,
    values: e.values || [],
    width: edgeWidth(e[ui.measure.value], max),
  },
});

const shown = (node) => !node.hasClass("hidden") && !node.hasClass("off");

function visible() {
  const nodes = cy.nodes().filter(shown);
  const edges = nodes.connectedEdges().filter(
    (e) => !e.hasClass("weak") && shown(e.source()) && shown(e.target()),
  );
  return { nodes, edges };
}

// -- styles from data ------------------------------------------------------------------

function maxOf(collection, key) {
  let max = 0;
  collection.forEach((ele) => {
    max = Math.max(max, ele.data(key));
  });
  return max;
}

function applySizes() {
  const max = maxOf(cy.nodes(), "count");
  cy.batch(() => {
    cy.nodes().forEach((n) => {
      const size = nodeSize(n.data("count"), max);
      if (Math.abs(size - n.data("size")) > 0.01) n.data("size", size);
    });
  });
}

function applyWeights() {
  const measure = ui.measure.value;
  const max = maxOf(cy.edges(), measure);
  const threshold = (Number(ui.minWeight.value) / 100) * max;
  ui.minWeightValue.value = measure === "count" ? String(Math.ceil(threshold)) : threshold.toFixed(3);
  cy.batch(() => {
    cy.edges().forEach((e) => {
      const v = e.data(measure);
      const width = edgeWidth(v, max);
      if (Math.abs(width - e.data("width")) > 0.01) e.data("width", width);
      const weak = threshold > 0 && v < threshold;
      if (weak !== e.hasClass("weak")) e.toggleClass("weak", weak);
    });
  });
}

function updateLegend() {
  const groups = new Map();
  cy.nodes().forEach((n) => {
    const g = n.data("group");
    groups.set(g, (groups.get(g) || 0) + 1);
  });
  ui.legend.replaceChildren();
  for (const [group, count] of [...groups].sort((a, b) => b[1] - a[1])) {
    const label = document.createElement("label");
    const tick = document.createElement("input");
    tick.type = "checkbox";
    tick.checked = !groupsOff.has(group);
    tick.addEventListener("change", () => {
      if (tick.checked) groupsOff.delete(group);
      else groupsOff.add(group);
      cy.batch(() => {
        cy.nodes().forEach((n) => {
          if (n.data("group") === group) n.toggleClass("off", !tick.checked);
        });
      });
      describe();
    });
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = hashColour(group);
    const text = document.createElement("span");
    text.textContent = `${group || NO_GROUP[kind]} ${count}`;
    label.append(tick, swatch, text);
    ui.legend.append(label);
  }
}

function updateNames() {
  const options = cy.nodes().map((n) => {
    const o = document.createElement("option");
    o.value = n.id();
    return o;
  });
  ui.names.replaceChildren(...options);
}

// extra: what the last step did ("3 new from …"), after the counts.
function describe(extra = "") {
  const { nodes, edges } = visible();
  const hidden = cy.nodes(".hidden").length;
  ui.unhide.disabled = hidden === 0;
  ui.unhide.textContent = hidden ? t("Show hidden (%(n)s)", { n: hidden }) : t("Show hidden");
  const parts = [t("%(nodes)s nodes, %(edges)s edges shown", { nodes: nodes.length, edges: edges.length })];
  if (box.dataset.layoutMs) parts.push(t("layout %(ms)s ms", { ms: box.dataset.layoutMs }));
  const hubs = Number(box.dataset.hubs || 0);
  if (hubs) parts.push(t("%(n)s value(s) in too many reports join nothing", { n: hubs }));
  if (extra) parts.push(extra);
  setStatus(parts.join(" · "));
}

// -- layout ----------------------------------------------------------------------------

// The same graph lays out the same way: a seeded generator for the starting positions.
function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let z = a;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  };
}

// Work grows with n per iteration: fewer iterations for big maps keep the time flat.
const iterationsFor = (n) => Math.max(80, Math.min(500, Math.round(160_000 / n)));

function fitted(positions, biggest) {
  let [x1, y1, x2, y2] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const { x, y } of Object.values(positions)) {
    x1 = Math.min(x1, x);
    y1 = Math.min(y1, y);
    x2 = Math.max(x2, x);
    y2 = Math.max(y2, y);
  }
  const pad = 24 + biggest / 2;
  const w = Math.max(box.clientWidth - 2 * pad, 50);
  const h = Math.max(box.clientHeight - 2 * pad, 50);
  const zoom = Math.min(Math.max(Math.min(w / (x2 - x1 || 1), h / (y2 - y1 || 1)), cy.minZoom()), 2);
  return {
    zoom,
    pan: { x: box.clientWidth / 2 - zoom * (x1 + x2) / 2, y: box.clientHeight / 2 - zoom * (y1 + y2) / 2 },
  };
}

function runLayout({ randomize = true, iterations = 0, note = "" } = {}) {
  const { nodes, edges } = visible();
  if (!nodes.length) {
    describe();
    return;
  }
  box.dataset.state = "layout";
  setStatus(t("Laying out %(n)s nodes…", { n: nodes.length }));
  // Let the status paint before the page is busy.
  requestAnimationFrame(() => setTimeout(() => layOut(nodes, edges, randomize, iterations, note), 0));
}

function layOut(nodes, edges, randomize, iterations, note) {
  const started = performance.now();
  const n = nodes.length;
  const random = seeded(n * 7919 + edges.length);
  const spread = Math.sqrt(n) * 40;
  const g = new Graph({ type: "undirected" });
  nodes.forEach((node) => {
    const p = node.position();
    const keep = !randomize && node.scratch("_placed");
    g.addNode(node.id(), {
      x: keep ? p.x : (random() - 0.5) * spread,
      y: keep ? p.y : (random() - 0.5) * spread,
      size: node.data("size") / 2 + 4, // a radius, with room for a click between nodes
    });
  });
  edges.forEach((e) => {
    g.mergeEdge(e.data("source"), e.data("target"), { weight: 1 + Math.log(e.data("count")) });
  });
  const positions = forceAtlas2(g, {
    iterations: iterations || iterationsFor(n),
    settings: {
      barnesHutOptimize: n > BARNES_HUT,
      barnesHutTheta: 0.6,
      strongGravityMode: true,
      gravity: 0.05,
      scalingRatio: 20,
      slowDown: 1 + Math.log(n),
      edgeWeightInfluence: 1,
      // Nodes that occur on the same items would land on one another: keep them apart
      // (costs time, so only where there are few enough to click one by one).
      adjustSizes: n <= BIG,
    },
  });
  const animate = n <= BIG;
  const layout = nodes.layout({
    name: "preset",
    positions: (node) => positions[node.id()],
    // Fitted from the positions: cy.fit() would measure every label first.
    fit: false,
    zoom: undefined,
    pan: undefined,
    animate,
    animationDuration: 400,
  });
  cy.viewport(fitted(positions, maxOf(nodes, "size")));
  layout.one("layoutstop", () => {
    nodes.forEach((node) => node.scratch("_placed", true));
    declutter();
    requestAnimationFrame(() => {
      box.dataset.state = "ready";
      box.dataset.readyMs = String(Math.round(performance.now()));
      describe(note);
    });
  });
  layout.run();
  // The layout itself: ForceAtlas2 and placing the nodes (an animation runs after).
  box.dataset.layoutMs = String(Math.round(performance.now() - started));
  box.dataset.layoutIterations = String(iterations || iterationsFor(n));
}

// Labels that would run into the label of a node more common than theirs are left off
// (UX finding 16: in the map's crowded middle they overlapped); such a node says its
// name when pointed at or selected. Labels scale with the drawing, so one pass after
// each layout holds at every zoom. Most common first, so the big ones always speak.
function declutter() {
  const nodes = cy.nodes().filter(shown);
  nodes.removeClass("quiet");
  const placed = [];
  const order = nodes.sort((a, b) => b.data("count") - a.data("count") || (a.id() < b.id() ? -1 : 1));
  const quiet = [];
  order.forEach((node) => {
    const b = node.boundingBox({ includeNodes: false, includeLabels: true, includeOverlays: false });
    if (!b.w || !b.h) return;
    const hits = placed.some((o) => b.x1 < o.x2 && o.x1 < b.x2 && b.y1 < o.y2 && o.y1 < b.y2);
    if (hits) quiet.push(node);
    else placed.push(b);
  });
  cy.batch(() => quiet.forEach((node) => node.addClass("quiet")));
  box.dataset.quietLabels = String(quiet.length);
}

// -- the side panel --------------------------------------------------------------------

function openPanel(node) {
  current = node;
  ui.panel.hidden = false;
  ui.title.textContent = node.data("label");
  const group = node.data("group");
  if (kind === "indicators") {
    const count = t("%(n)s indicator(s)", { n: node.data("count") });
    ui.meta.textContent = [count, group || t("no source")].join(" · ");
    ui.search.href = "/objects/" + encodeURIComponent(node.id());
    listSharing(node);
    return;
  }
  let what;
  if (kind !== "tags") what = t("language %(code)s", { code: group });
  else what = group ? t("namespace %(name)s", { name: group }) : t("no namespace");
  ui.meta.textContent = [t("%(n)s item(s) in this selection", { n: node.data("count") }), what].join(" · ");
  const query = narrowed(box.dataset.selection, node.id());
  ui.search.href = "/search?" + new URLSearchParams({ q: query, sort: "newest" });
  const here = new URL(window.location.href);
  here.searchParams.set("q", narrowed(box.dataset.query, node.id()));
  if (ui.focus) ui.focus.href = here.pathname + here.search;
  loadItems(query);
}

// The reports joined to this one, most shared first, with the values they share.
function listSharing(node) {
  itemsRequest++;
  const rows = node.connectedEdges().filter((e) => shown(e.source()) && shown(e.target()))
    .sort((a, b) => b.data("count") - a.data("count"))
    .map((e) => {
      const other = e.source().id() === node.id() ? e.target() : e.source();
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = "/objects/" + encodeURIComponent(other.id());
      a.textContent = other.data("label");
      const values = document.createElement("small");
      values.className = "shared-values";
      values.textContent = ` ${e.data("values").join(", ")}${e.data("count") > e.data("values").length ? " …" : ""}`;
      li.append(a, values);
      return li;
    });
  ui.items.replaceChildren(...rows);
  ui.itemsStatus.textContent = rows.length
    ? t("%(n)s report(s) on the map; Expand finds more.", { n: rows.length })
    : t("No report on the map shares an indicator with this one; Expand looks further.");
}

async function loadItems(query) {
  const mine = ++itemsRequest;
  ui.items.replaceChildren();
  ui.itemsStatus.textContent = t("Loading…");
  try {
    const found = await getJSON("/api/v1/search?" + new URLSearchParams({ q: query, sort: "newest", limit: "20" }));
    if (mine !== itemsRequest) return;
    const rows = found.hits.map((h) => {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = "/objects/" + encodeURIComponent(h.id);
      a.textContent = h.title || h.id;
      const meta = document.createElement("small");
      meta.textContent = ` ${h.type}${h.published ? " · " + h.published.slice(0, 10) : ""}`;
      li.append(a, meta);
      return li;
    });
    ui.items.replaceChildren(...rows);
    const total = `${found.total}${found.total_exact ? "" : "+"}`;
    ui.itemsStatus.textContent = rows.length ? t("%(n)s item(s), newest first.", { n: total }) : t("No items.");
  } catch (err) {
    if (mine === itemsRequest) ui.itemsStatus.textContent = err.message;
  }
}

async function expand(node) {
  const url = new URL(box.dataset.api, window.location.origin);
  if (kind === "indicators") {
    // Reports anywhere (not only in the selection) that share one of its indicators.
    for (const name of ["q", "since", "until"]) url.searchParams.delete(name);
    url.searchParams.set("around", node.id());
  } else {
    url.searchParams.set("q", narrowed(box.dataset.query, node.id()));
  }
  url.searchParams.set("size", String(EXPAND_SIZE));
  ui.expand.disabled = true;
  try {
    const graph = await getJSON(url.pathname + url.search);
    node.addClass("expanded");
    merge(graph, node);
    if (node === current && kind === "indicators") listSharing(node);
  } catch (err) {
    setStatus(err.message);
  } finally {
    ui.expand.disabled = false;
  }
}

function merge(graph, around) {
  const centre = around.position();
  const fresh = graph.nodes.filter((n) => cy.getElementById(n.id).empty());
  const note = t("%(n)s new from %(name)s", { n: fresh.length, name: around.data("label") });
  cy.batch(() => {
    fresh.forEach((n, i) => {
      const angle = (2 * Math.PI * i) / Math.max(fresh.length, 1);
      const added = cy.add({
        ...nodeElement(n, 1),
        position: { x: centre.x + 80 * Math.cos(angle), y: centre.y + 80 * Math.sin(angle) },
      });
      added.scratch("_placed", true); // starts beside the node it came from
      if (groupsOff.has(added.data("group"))) added.addClass("off");
    });
    for (const e of graph.edges) {
      if (!cy.getElementById(edgeId(e.source, e.target)).empty()) continue;
      if (cy.getElementById(e.source).empty() || cy.getElementById(e.target).empty()) continue;
      cy.add(edgeElement(e, 0));
    }
  });
  applySizes();
  applyWeights();
  updateLegend();
  updateNames();
  runLayout({ randomize: false, iterations: 60, note });
}

function hide(node) {
  node.addClass("hidden");
  node.unselect();
  ui.panel.hidden = true;
  current = null;
  describe();
}

// -- exports -----------------------------------------------------------------------------

function asData() {
  const { nodes, edges } = visible();
  return {
    kind,
    selection: box.dataset.selection,
    measure: ui.measure.value,
    nodes: nodes.map((n) => ({
      id: n.id(),
      label: n.data("label"),
      count: n.data("count"),
      group: n.data("group"),
      x: Math.round(n.position("x") * 10) / 10,
      y: Math.round(n.position("y") * 10) / 10,
    })),
    edges: edges.map((e) => ({
      source: e.data("source"),
      target: e.data("target"),
      count: e.data("count"),
      pmi: e.data("pmi"),
      jaccard: e.data("jaccard"),
      ...(kind === "indicators" ? { values: e.data("values") } : {}),
    })),
  };
}

function asShapes() {
  const { nodes, edges } = visible();
  return {
    nodes: nodes.map((n) => ({
      label: n.data("label"),
      x: n.position("x"),
      y: n.position("y"),
      size: n.data("size"),
      colour: n.data("colour"),
    })),
    edges: edges.map((e) => {
      const from = e.source().position();
      const to = e.target().position();
      return { x1: from.x, y1: from.y, x2: to.x, y2: to.y, width: e.data("width"), colour: EDGE_COLOUR, opacity: 0.55 };
    }),
  };
}

async function exportAs(format) {
  if (!cy) return;
  if (format === "png") {
    const big = cy.nodes().length > HUGE;
    const blob = await cy.png({ output: "blob-promise", full: true, scale: big ? 1 : 2, bg: "#ffffff", maxWidth: 8000, maxHeight: 8000 });
    download(blob, "png");
  } else if (format === "svg") {
    download(new Blob([toSVG(asShapes(), FONT)], { type: "image/svg+xml" }), "svg");
  } else if (format === "json") {
    download(new Blob([JSON.stringify(asData(), null, 1)], { type: "application/json" }), "json");
  } else if (format === "graphml") {
    download(new Blob([toGraphML(asData())], { type: "application/graphml+xml" }), "graphml");
  }
}

// -- start -------------------------------------------------------------------------------

function draw(graph) {
  const n = graph.nodes.length;
  const started = performance.now();
  const maxCount = Math.max(1, ...graph.nodes.map((x) => x.count));
  const maxWeight = Math.max(0, ...graph.edges.map((x) => x[ui.measure.value]));
  cy = cytoscape({
    container: box,
    elements: [
      ...graph.nodes.map((x) => nodeElement(x, maxCount)),
      ...graph.edges.map((x) => edgeElement(x, maxWeight)),
    ],
    textureOnViewport: n > HUGE,
    hideEdgesOnViewport: n > HUGE,
    motionBlur: false,
    pixelRatio: n > HUGE ? 1 : "auto",
    minZoom: 0.02,
    maxZoom: 6,
    style: [
      {
        selector: "node",
        style: {
          width: "data(size)",
          height: "data(size)",
          "background-color": "data(colour)",
          label: "data(label)",
          "font-family": FONT,
          "font-size": 11,
          "text-valign": "bottom",
          "text-margin-y": 3,
          "min-zoomed-font-size": 7,
          color: "#222",
          "text-outline-color": "#fff",
          "text-outline-width": 2,
        },
      },
      { selector: "node.quiet", style: { label: "" } },
      { selector: "node.quiet.pointed, node.quiet:selected", style: { label: "data(label)", "z-index": 10 } },
      { selector: "node:selected", style: { "border-width": 3, "border-color": "#111" } },
      { selector: "node.expanded", style: { "border-width": 2, "border-color": "#555", "border-style": "double" } },
      {
        selector: "edge",
        style: {
          width: "data(width)",
          opacity: 0.55,
          "line-color": EDGE_COLOUR,
          "curve-style": "haystack",
        },
      },
      { selector: "edge.near", style: { "line-color": "#333", opacity: 0.9 } },
      { selector: ".hidden, .off, .weak", style: { display: "none" } },
    ],
  });
  window.kizashiGraph = { cy, runLayout, exportAs, declutter };
  updateLegend();
  updateNames();
  box.dataset.createMs = String(Math.round(performance.now() - started));
  cy.on("tap", "node", (event) => openPanel(event.target));
  cy.on("mouseover", "node", (event) => event.target.addClass("pointed"));
  cy.on("mouseout", "node", (event) => event.target.removeClass("pointed"));
  cy.on("select", "node", (event) => event.target.connectedEdges().addClass("near"));
  cy.on("unselect", "node", (event) => event.target.connectedEdges().removeClass("near"));
  runLayout();
}

async function load() {
  setStatus(t("Loading the map…"));
  let graph;
  try {
    graph = await getJSON(box.dataset.api);
    box.dataset.fetchedMs = String(Math.round(performance.now()));
  } catch (err) {
    setStatus(err.message);
    box.dataset.state = "error";
    return;
  }
  if (!graph.nodes.length) {
    const none = {
      tags: t("No tags in this selection."),
      words: t("No words in this selection."),
      indicators: t("No reports in this selection."),
    };
    setStatus(none[kind]);
    box.dataset.state = "empty";
    return;
  }
  box.dataset.hubs = String(graph.hubs?.length || 0);
  draw(graph);
}

ui.measure.addEventListener("change", () => cy && (applyWeights(), describe()));
ui.minWeight.addEventListener("input", () => cy && (applyWeights(), describe()));
ui.relayout.addEventListener("click", () => cy && runLayout());
ui.unhide.addEventListener("click", () => {
  if (!cy) return;
  cy.nodes(".hidden").removeClass("hidden");
  describe();
});
ui.expand.addEventListener("click", () => current && expand(current));
ui.hide.addEventListener("click", () => current && hide(current));
ui.find.addEventListener("change", () => {
  const node = cy?.getElementById(ui.find.value);
  if (!node || node.empty()) return;
  node.removeClass("hidden off");
  cy.$(":selected").unselect();
  node.select();
  cy.center(node);
  openPanel(node);
});
for (const button of document.querySelectorAll("[data-export]")) {
  button.addEventListener("click", () => {
    button.closest("details")?.removeAttribute("open");
    exportAs(button.dataset.export);
  });
}

load();
