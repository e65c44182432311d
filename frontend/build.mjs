// Bundle the UI's script and styles into the Python package (src/kizashi/web/static/dist).
// Everything comes from node_modules: nothing is loaded from a CDN at run time.
import { build } from "esbuild";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const outdir = join(here, "..", "src", "kizashi", "web", "static", "dist");
mkdirSync(outdir, { recursive: true });

// app.js on every page; the heavy libraries only on the pages that draw with them:
// charts.js (word cloud, trend chart) on /analytics, graph.js (relation map) on /graph,
// entity.js (an object's graph) on object pages.
await build({
  entryPoints: {
    app: join(here, "src", "main.js"),
    charts: join(here, "src", "charts.js"),
    graph: join(here, "src", "graph.js"),
    entity: join(here, "src", "entity-graph.js"),
  },
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  outdir,
  logLevel: "warning",
});
await build({
  entryPoints: { app: join(here, "src", "app.css") },
  bundle: true,
  minify: true,
  outdir,
  logLevel: "warning",
});
writeFileSync(join(outdir, ".built"), new Date().toISOString() + "\n");
console.log(`front-end assets written to ${outdir}`);
