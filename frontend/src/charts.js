// The analytics page: the word cloud (wordcloud2.js, drawn as <span>s so Japanese is laid
// out by the browser's own fonts and every word is a focusable link) and the trend chart
// (ECharts, only the line chart and the components it uses are bundled).
import WordCloud from "wordcloud";
import * as echarts from "echarts/core";
import { LineChart } from "echarts/charts";
import {
  AriaComponent,
  DataZoomComponent,
  GridComponent,
  LegendComponent,
  TooltipComponent,
} from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";
import langJA from "echarts/lib/i18n/langJA.js";
import { t } from "./i18n.js";

echarts.registerLocale("JA", langJA);
echarts.use([
  LineChart,
  AriaComponent,
  DataZoomComponent,
  GridComponent,
  LegendComponent,
  TooltipComponent,
  CanvasRenderer,
]);

// A hue per language, in three shades so that neighbouring words stay apart.
export const LANG_COLOURS = {
  ja: ["#b5332e", "#7f1f1b", "#d4553f"],
  en: ["#1f5fa8", "#143f73", "#3f7fc6"],
};
function colourOf(word, lang) {
  const shades = LANG_COLOURS[lang] || ["#444"];
  let h = 0;
  for (const c of word) h = (h * 31 + c.codePointAt(0)) >>> 0;
  return shades[h % shades.length];
}
const FONT = '"Noto Sans CJK JP", "Noto Sans JP", "Hiragino Sans", "Yu Gothic UI", "Meiryo", system-ui, sans-serif';

function readJSON(id) {
  const el = document.getElementById(id);
  return el ? JSON.parse(el.textContent) : null;
}

// -- word cloud ----------------------------------------------------------------------------

function drawCloud(box) {
  const words = readJSON(box.dataset.source) || [];
  if (!words.length) return;
  const byTerm = new Map(words.map((w) => [w.term, w]));
  const width = box.clientWidth || 800;
  const maxWeight = Math.max(...words.map((w) => w.weight));
  const biggest = Math.max(24, Math.min(64, width / 14));
  const smallest = 11;
  // Area, not height, follows the weight: the font size grows with its square root, and
  // a long compound (サプライチェーン攻撃) is made small enough to fit the width.
  const pixels = (w) => {
    const size = smallest + (biggest - smallest) * Math.sqrt(w.weight / maxWeight);
    const ems = [...w.term].reduce((n, c) => n + (c.charCodeAt(0) > 0x3000 ? 1 : 0.6), 0);
    return Math.max(smallest, Math.min(size, (0.9 * width) / Math.max(ems, 1)));
  };
  box.dataset.state = "drawing";
  box.addEventListener(
    "wordcloudstop",
    () => {
      for (const span of box.querySelectorAll(".wc-word")) {
        const w = byTerm.get(span.textContent);
        if (!w) continue;
        span.title = t("%(term)s: %(count)s occurrence(s) in %(docs)s item(s), keyness %(score)s", {
          term: w.term,
          count: w.count,
          docs: w.docs,
          score: w.score,
        });
      }
      box.dataset.state = "drawn";
    },
    { once: true },
  );
  WordCloud(box, {
    list: words.map((w) => ({
      word: w.term,
      weight: pixels(w),
      attributes: { "data-lang": w.lang, "data-href": w.href, role: "link", tabindex: "0" },
    })),
    fontFamily: FONT,
    // Weights are already pixels; shrinkToFit shrinks a word that does not fit until it
    // does or falls under minSize, where it is left out.
    weightFactor: 1,
    minSize: 8,
    color: (word) => colourOf(word, byTerm.get(word)?.lang),
    classes: (word) => `wc-word wc-${byTerm.get(word)?.lang || "other"}`,
    backgroundColor: "transparent",
    gridSize: Math.max(6, Math.round((14 * width) / 1024)), // also the space between words
    rotateRatio: 0, // Japanese on its side is hard to read.
    shuffle: false,
    shrinkToFit: true,
    drawOutOfBound: false,
  });
}

function followWord(event) {
  const span = event.target.closest?.(".wc-word[data-href]");
  if (!span) return;
  if (event.type === "keydown" && event.key !== "Enter" && event.key !== " ") return;
  event.preventDefault();
  const href = span.dataset.href;
  if (href.startsWith("/")) window.location.assign(href);
}

// -- trends --------------------------------------------------------------------------------

function drawTrends(box) {
  const data = readJSON(box.dataset.source);
  if (!data || !data.periods.length) return;
  // ECharts' own words (the zoom slider's) in the page's language.
  const locale = document.documentElement.lang === "ja" ? "JA" : "EN";
  const chart = echarts.init(box, null, { renderer: "canvas", locale });
  chart.on("finished", () => {
    box.dataset.state = "drawn";
  });
  chart.setOption({
    // The box's own aria-label describes the chart in a sentence (the page writes it);
    // ECharts' description read every point's index and value, hundreds of characters.
    aria: { enabled: false },
    textStyle: { fontFamily: FONT },
    tooltip: { trigger: "axis" },
    legend: { type: "scroll", top: 0 },
    grid: { left: 48, right: 24, top: 40, bottom: data.periods.length > 30 ? 64 : 32 },
    xAxis: { type: "category", data: data.periods, boundaryGap: false },
    yAxis: { type: "value", minInterval: 1 },
    dataZoom: data.periods.length > 30 ? [{ type: "inside" }, { type: "slider" }] : [],
    series: data.series.map((s) => ({
      name: s.name === "all" ? t("selection") : s.name,
      type: "line",
      data: s.counts,
      showSymbol: data.periods.length <= 60,
      lineStyle: s.name === "all" ? { width: 3, type: "dashed" } : { width: 2 },
      emphasis: { focus: "series" },
    })),
  });
  window.addEventListener("resize", () => chart.resize());
}

function start() {
  const cloud = document.getElementById("word-cloud");
  if (cloud) {
    drawCloud(cloud);
    cloud.addEventListener("click", followWord);
    cloud.addEventListener("keydown", followWord);
  }
  const trends = document.getElementById("trend-chart");
  if (trends) drawTrends(trends);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
