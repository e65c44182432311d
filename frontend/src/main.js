// Kizashi's UI script: htmx, plus the few behaviours the server-rendered pages need.
import htmx from "htmx.org";
import { t } from "./i18n.js";

window.htmx = htmx;

// No inline handlers (the Content-Security-Policy forbids them): behaviour by attribute.
document.addEventListener("submit", (event) => {
  const message = event.target.dataset?.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});
document.addEventListener("change", (event) => {
  if (event.target.matches?.("[data-autosubmit]")) event.target.form.requestSubmit();
});

// The objects list's "select all on this page" box ticks the rows' boxes, and follows
// them: ticked when every row is, half-ticked when some are. Without scripts it still
// works: the server reads it as every row of the page (data-select-all, page_ids).
document.addEventListener("change", (event) => {
  const table = event.target.closest?.("table");
  if (!table) return;
  const all = table.querySelector("[data-select-all]");
  const rows = [...table.querySelectorAll("[data-select-row]")];
  if (!all || !rows.length) return;
  if (event.target === all) {
    for (const row of rows) row.checked = all.checked;
  } else if (event.target.matches("[data-select-row]")) {
    const ticked = rows.filter((row) => row.checked).length;
    all.checked = ticked === rows.length;
    all.indeterminate = ticked > 0 && ticked < rows.length;
  }
});

// A picker of several objects (the note form's "about"): picking a name from the
// suggestions adds the object to the list above the box, as a chip that can be removed;
// the hidden field keeps the ids. Without scripts, a STIX id typed in the box is read.
const STIX_ID = /^[a-z0-9][a-z0-9-]*--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function chosenIds(field) {
  return field.value ? field.value.split(",").filter(Boolean) : [];
}

document.addEventListener("change", (event) => {
  const box = event.target;
  if (!box.matches?.("[data-choose-into]")) return;
  const id = box.value.trim();
  if (!STIX_ID.test(id)) return;
  const field = document.getElementById(box.dataset.chooseInto);
  const list = document.getElementById(`${box.id}-chosen`);
  const ids = chosenIds(field);
  if (!ids.includes(id)) {
    const option = box.list?.querySelector(`option[value="${CSS.escape(id)}"]`);
    const name = option?.textContent?.trim() || id;
    const item = document.createElement("li");
    item.dataset.id = id;
    const link = document.createElement("a");
    link.href = `/objects/${encodeURIComponent(id)}`;
    link.textContent = name;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "outline secondary";
    remove.dataset.unchoose = "";
    remove.setAttribute("aria-label", t("Remove %(name)s", { name }));
    remove.textContent = "×";
    item.append(link, " ", remove);
    list.append(item);
    field.value = [...ids, id].join(",");
  }
  box.value = "";
  box.required = false;
});

document.addEventListener("click", (event) => {
  const remove = event.target.closest?.("[data-unchoose]");
  if (!remove) return;
  const item = remove.closest("li");
  const list = item.parentElement;
  const box = document.getElementById(list.id.replace(/-chosen$/, ""));
  const field = document.getElementById(box.dataset.chooseInto);
  field.value = chosenIds(field)
    .filter((id) => id !== item.dataset.id)
    .join(",");
  item.remove();
  box.required = !field.value;
  box.focus();
});

// Forms posted by htmx carry the session's anti-forgery token, like plain forms do.
document.addEventListener("htmx:configRequest", (event) => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) event.detail.headers["X-CSRF-Token"] = meta.content;
});

// Typing Japanese: while an IME composes (かな → 漢字), the text is not yet what the
// analyst means. Nothing reacts to it: the input events of a composition do not reach
// htmx (no suggestion request, no live filter), the Enter that confirms a conversion
// neither submits a form nor picks a suggestion, and the composed text is announced
// once, as one input event, when the composition ends.
document.addEventListener(
  "input",
  (event) => {
    if (event.isComposing) event.stopImmediatePropagation();
  },
  true,
);
document.addEventListener(
  "keydown",
  (event) => {
    // keyCode 229: the key went to the IME (Safari ends the composition before keydown).
    if (event.key === "Enter" && (event.isComposing || event.keyCode === 229)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  },
  true,
);
document.addEventListener(
  "compositionend",
  (event) => {
    event.target.dispatchEvent(new Event("input", { bubbles: true }));
  },
  true,
);

// The browser's time zone, for pages of a user who has not chosen one (the server
// checks it against the IANA list; a page's times are shown in it from the next page).
try {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const known = document.cookie.split("; ").includes(`kizashi_tz=${zone}`);
  if (zone && /^[A-Za-z0-9/_+-]{1,64}$/.test(zone) && !known) {
    document.cookie = `kizashi_tz=${zone}; path=/; max-age=31536000; samesite=lax`;
  }
} catch {
  // No Intl time zone support: the page's language decides.
}

// Keyboard shortcuts, as the help dialog of every page lists them (base.html: its rows
// carry data-keys and data-href, so the page and the keys cannot disagree). Not while
// typing in a field, composing with an IME, or with a modifier held.
const shortcuts = document.getElementById("shortcuts");
let pending = "";
let pendingTimer = 0;
function showShortcuts() {
  if (shortcuts && !shortcuts.open) shortcuts.showModal();
}
document.addEventListener("click", (event) => {
  if (event.target.closest?.("[data-shortcuts]")) {
    event.preventDefault();
    showShortcuts();
  }
});
document.addEventListener("keydown", (event) => {
  if (!shortcuts || event.defaultPrevented || event.isComposing) return;
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  // An open dialog keeps its keys. Not a closed one: Chromium can leave the focus on a
  // scrollable element inside the dialog it just closed, so the next keys come from there.
  if (event.target.closest?.("input, textarea, select, [contenteditable], dialog[open]")) return;
  const key = event.key;
  if (key === "?") {
    event.preventDefault();
    showShortcuts();
    return;
  }
  if (key === "/" && !pending) {
    const box = document.querySelector(".nav-search input[name=q]");
    if (box) {
      event.preventDefault();
      box.focus();
    }
    return;
  }
  const rows = [...shortcuts.querySelectorAll("[data-keys]")];
  const combo = pending ? `${pending} ${key}` : key;
  const row = rows.find((r) => r.dataset.keys === combo);
  window.clearTimeout(pendingTimer);
  if (row) {
    pending = "";
    event.preventDefault();
    window.location.href = row.dataset.href;
  } else if (!pending && rows.some((r) => r.dataset.keys.startsWith(`${key} `))) {
    pending = key;
    pendingTimer = window.setTimeout(() => (pending = ""), 1500);
  } else {
    pending = "";
  }
});
