// The entity graph on an object page, drawn by Cytoscape.js: the object, what it is
// related to (STIX relationships, arrows labelled with their type), what it refers to
// and what refers to it (a report's object_refs, dashed). Expanding a node asks the
// server for that node's own graph and adds what is new: one hop at a time.
// Data is set as text (textContent, cytoscape labels), never parsed as HTML.
import cytoscape from "cytoscape";
import { download as save, getJSON } from "./fetching.js";
import { toGraphML } from "./graph-export.js";
import { t } from "./i18n.js";

const FONT = '"Noto Sans CJK JP", "Noto Sans JP", "Hiragino Sans", "Yu Gothic UI", "Meiryo", system-ui, sans-serif';
// STIX types an analyst meets most, by colour and shape; others fall back to grey.
const LOOK = {
  report: ["#1f5fa8", "round-rectangle"],
  note: ["#5b7fa8", "round-rectangle"],
  opinion: ["#5b7fa8", "round-rectangle"],
  indicator: ["#d62728", "diamond"],
  "threat-actor": ["#9467bd", "star"],
  "intrusion-set": ["#9467bd", "star"],
  campaign: ["#8c564b", "hexagon"],
  malware: ["#ff7f0e", "hexagon"],
  tool: ["#bcbd22", "hexagon"],
  vulnerability: ["#e377c2", "triangle"],
  "attack-pattern": ["#17becf", "vee"],
  identity: ["#637939", "ellipse"],
  relationship: ["#8a94a6", "ellipse"],
};
const OBSERVABLE = ["#d62728", "diamond"]; // ipv4-addr, domain-name, url, file…
const OBSERVABLES = new Set([
  "ipv4-addr", "ipv6-addr", "domain-name", "url", "file", "email-addr", "mac-addr",
  "autonomous-system", "network-traffic", "x509-certificate", "directory", "mutex",
  "windows-registry-key", "user-account", "process", "software", "artifact",
]);
const MAX_FIT_ZOOM = 1.5;
const lookOf = (type) => LOOK[type] || (OBSERVABLES.has(type) ? OBSERVABLE : ["#7a7a7a", "ellipse"]);

const $ = (id) => document.getElementById(id);
const box = $("entity-graph");
const ui = {
  status: $("entity-status"),
  relayout: $("entity-relayout"),
  unhide: $("entity-unhide"),
  panel: $("entity-panel"),
  title: $("entity-title"),
  meta: $("entity-meta"),
  open: $("entity-open"),
  expand: $("entity-expand"),
  hide: $("entity-hide"),
};
const root = box.dataset.root;
let cy = null;
let current = null;
const left = new Map(); // node id -> {relationship, refers, referred} left out


const graphUrl = (id) => `/api/v1/objects/${encodeURIComponent(id)}/graph`;
const objectUrl = (id) => `/objects/${encodeURIComponent(id)}`;

function nodeElement(n) {
  const [colour, shape] = lookOf(n.type);
  const label = n.name.length > 40 ? n.name.slice(0, 39) + "…" : n.name;
  return {
    group: "nodes",
    data: { id: n.id, label, name: n.name, type: n.type, tlp: n.tlp || "", colour, shape },
  };
}

// A reference edge is drawn with words, not its STIX property (object_refs → 参照);
// ``prop`` keeps the property for the exports.
const REF_WORDS = {
  object_refs: () => t("refers to"),
  created_by_ref: () => t("created by"),
  sighting_of_ref: () => t("sighting of"),
  where_sighted_refs: () => t("sighted at"),
  sample_refs: () => t("sample"),
};
const edgeWords = (e) =>
  e.kind === "ref" && REF_WORDS[e.label] ? REF_WORDS[e.label]() : e.label;

const edgeElement = (e) => ({
  group: "edges",
  data: {
    id: e.id,
    source: e.source,
    target: e.target,
    label: edgeWords(e),
    prop: e.label,
    kind: e.kind,
  },
  classes: e.kind,
});

// extra: what the last step did ("1 new from …"), after the counts.
function describe(extra = "") {
  const nodes = cy.nodes().filter((n) => !n.hasClass("hidden"));
  const hidden = cy.nodes(".hidden").length;
  ui.unhide.disabled = hidden === 0;
  ui.unhide.textContent = hidden ? t("Show hidden (%(n)s)", { n: hidden }) : t("Show hidden");
  const edges = nodes.edgesWith(nodes);
  const counts = t("%(objects)s objects, %(links)s links", { objects: nodes.length, links: edges.length });
  ui.status.textContent = extra ? `${counts} · ${extra}` : counts;
}

function leftOut(more) {
  const parts = [];
  if (more.relationship) parts.push(t("%(n)s relationship(s)", { n: more.relationship }));
  if (more.refers) parts.push(t("%(n)s reference(s)", { n: more.refers }));
  if (more.referred) parts.push(t("%(n)s referring object(s)", { n: more.referred }));
  return parts.join(", ");
}

const notDrawn = (what) => t("not drawn: %(what)s", { what });

function layOut(fit = true) {
  box.dataset.state = "layout";
  // Edges as long as the box allows: a small graph spreads over the box instead of
  // huddling in its middle at the largest zoom that still looks right.
  const shown = cy.nodes(":visible").length;
  const span = Math.min(box.clientWidth, box.clientHeight) || 400;
  const length = Math.max(90, span / (1.5 + Math.sqrt(shown)));
  const layout = cy.layout({
    name: "cose",
    animate: false,
    randomize: false,
    nodeDimensionsIncludeLabels: true,
    idealEdgeLength: () => length,
    nodeRepulsion: () => 9000 * (length / 90) ** 2,
    fit,
    padding: 30,
  });
  layout.one("layoutstop", () => {
    // A graph of three objects would fill the box at four times its size.
    if (fit && cy.zoom() > MAX_FIT_ZOOM) {
      cy.zoom(MAX_FIT_ZOOM);
      cy.center();
    }
    keepLabelsReadable(true);
    box.dataset.state = "ready";
  });
  layout.run();
}

// Labels stay readable however far the graph is zoomed out to fit: below zoom 1 their
// size grows as the zoom shrinks, so that on screen they keep at least their size at 1.
const NODE_FONT = 12;
const EDGE_FONT = 10;
let labelZoom = 0;
function keepLabelsReadable(force = false) {
  const zoom = Math.min(cy.zoom(), 1);
  if (!force && Math.abs(zoom - labelZoom) < 0.02) return;
  labelZoom = zoom;
  cy.batch(() => {
    cy.nodes().style({ "font-size": NODE_FONT / zoom, "text-outline-width": 2 / zoom, "text-max-width": 180 / zoom });
    cy.edges().style({ "font-size": EDGE_FONT / zoom });
  });
}

function openPanel(node) {
  current = node;
  ui.panel.hidden = false;
  ui.title.textContent = node.data("name");
  const more = left.get(node.id());
  const tlp = node.data("tlp") ? ` · TLP:${node.data("tlp").toUpperCase()}` : "";
  const parts = [node.data("type") + tlp, t("%(n)s link(s)", { n: node.degree() })];
  if (more && leftOut(more)) parts.push(notDrawn(leftOut(more)));
  ui.meta.textContent = parts.join(" · ");
  ui.open.href = objectUrl(node.id());
  ui.expand.disabled = node.hasClass("expanded");
}

// Adds what is new from one node's graph, beside that node.
function merge(graph, around) {
  const centre = around.position();
  const fresh = graph.nodes.filter((n) => cy.getElementById(n.id).empty());
  cy.batch(() => {
    fresh.forEach((n, i) => {
      const angle = (2 * Math.PI * i) / Math.max(fresh.length, 1);
      cy.add({
        ...nodeElement(n),
        position: { x: centre.x + 120 * Math.cos(angle), y: centre.y + 120 * Math.sin(angle) },
      });
    });
    for (const e of graph.edges) {
      if (cy.getElementById(e.id).empty()) cy.add(edgeElement(e));
    }
  });
  left.set(graph.root, graph.more || {});
  around.addClass("expanded");
  return fresh.length;
}

async function expand(node) {
  ui.expand.disabled = true;
  try {
    const graph = await getJSON(graphUrl(node.id()));
    const added = merge(graph, node);
    layOut();
    const more = leftOut(graph.more || {});
    const fresh = t("%(n)s new from %(name)s", { n: added, name: node.data("name") });
    describe(more ? `${fresh} (${notDrawn(more)})` : fresh);
    if (current === node) openPanel(node);
  } catch (err) {
    ui.status.textContent = err.message;
    ui.expand.disabled = false;
  }
}

function hide(node) {
  if (node.id() === root) return;
  node.addClass("hidden");
  ui.panel.hidden = true;
  current = null;
  describe();
}

const download = (blob, ext) => save(blob, `kizashi-graph-${root.split("--")[0]}.${ext}`);

function asData() {
  const nodes = cy.nodes().filter((n) => !n.hasClass("hidden"));
  return {
    kind: "entities",
    selection: root,
    directed: true,
    nodes: nodes.map((n) => ({
      id: n.id(),
      label: n.data("name"),
      type: n.data("type"),
      tlp: n.data("tlp"),
      x: Math.round(n.position("x") * 10) / 10,
      y: Math.round(n.position("y") * 10) / 10,
    })),
    edges: nodes.edgesWith(nodes).map((e) => ({
      id: e.id(),
      source: e.data("source"),
      target: e.data("target"),
      label: e.data("prop"),
      kind: e.data("kind"),
    })),
  };
}

const GRAPHML_KEYS = {
  node: [["label", "string"], ["type", "string"], ["tlp", "string"], ["x", "double"], ["y", "double"]],
  edge: [["label", "string"], ["kind", "string"]],
};

async function exportAs(format) {
  if (format === "png") {
    download(await cy.png({ output: "blob-promise", full: true, scale: 2, bg: "#ffffff" }), "png");
  } else if (format === "json") {
    download(new Blob([JSON.stringify(asData(), null, 1)], { type: "application/json" }), "json");
  } else if (format === "graphml") {
    download(new Blob([toGraphML(asData(), GRAPHML_KEYS)], { type: "application/graphml+xml" }), "graphml");
  }
}

function draw(graph) {
  cy = cytoscape({
    container: box,
    elements: [...graph.nodes.map(nodeElement), ...graph.edges.map(edgeElement)],
    minZoom: 0.1,
    maxZoom: 4,
    wheelSensitivity: 0.3,
    style: [
      {
        selector: "node",
        style: {
          width: 30,
          height: 30,
          shape: "data(shape)",
          "background-color": "data(colour)",
          label: "data(label)",
          "font-family": FONT,
          "font-size": NODE_FONT,
          "text-valign": "bottom",
          "text-margin-y": 3,
          "text-wrap": "ellipsis",
          "text-max-width": 180,
          color: "#222",
          "text-outline-color": "#fff",
          "text-outline-width": 2,
        },
      },
      { selector: "node.root", style: { width: 44, height: 44, "border-width": 3, "border-color": "#111" } },
      { selector: "node.expanded", style: { "border-width": 2, "border-color": "#555", "border-style": "double" } },
      { selector: "node:selected", style: { "overlay-opacity": 0.15 } },
      {
        selector: "edge",
        style: {
          width: 1.6,
          "line-color": "#8a94a6",
          "target-arrow-color": "#8a94a6",
          "target-arrow-shape": "triangle",
          "curve-style": "bezier",
          label: "data(label)",
          "font-family": FONT,
          "font-size": EDGE_FONT,
          color: "#555",
          "text-rotation": "autorotate",
          "text-background-color": "#fff",
          "text-background-opacity": 0.8,
          "text-background-padding": 1,
        },
      },
      { selector: "edge.ref", style: { "line-style": "dashed", width: 1.1 } },
      { selector: ".hidden", style: { display: "none" } },
    ],
  });
  cy.getElementById(root).addClass("expanded root");
  left.set(root, graph.more || {});
  window.kizashiEntityGraph = { cy, expand, exportAs };
  cy.on("tap", "node", (event) => openPanel(event.target));
  // Once a frame, after the zoom: a style change inside cytoscape's own zoom event
  // re-entered its renderer.
  let labelFrame = 0;
  cy.on("zoom", () => {
    if (!labelFrame) labelFrame = requestAnimationFrame(() => { labelFrame = 0; keepLabelsReadable(); });
  });
  cy.on("dbltap", "node", (event) => {
    if (event.target.id() !== root) window.location.href = objectUrl(event.target.id());
  });
  layOut();
  const more = leftOut(graph.more || {});
  describe(more ? notDrawn(more) : "");
}

async function load() {
  ui.status.textContent = t("Loading the graph…");
  try {
    const graph = await getJSON(graphUrl(root));
    box.dataset.state = "drawing";
    draw(graph);
  } catch (err) {
    ui.status.textContent = err.message;
    box.dataset.state = "error";
  }
}

ui.relayout.addEventListener("click", () => cy && layOut());
ui.unhide.addEventListener("click", () => {
  if (!cy) return;
  cy.nodes(".hidden").removeClass("hidden");
  describe();
});
ui.expand.addEventListener("click", () => current && expand(current));
ui.hide.addEventListener("click", () => current && hide(current));
for (const button of document.querySelectorAll("[data-entity-export]")) {
  button.addEventListener("click", () => {
    button.closest("details")?.removeAttribute("open");
    exportAs(button.dataset.entityExport);
  });
}

load();
