// The scripts' messages in the page's language, from the UI's one gettext catalogue
// (src/kizashi/web/i18n.py). Each page carries the translations of these messages in
// <script type="application/json" id="kizashi-messages"> (base.html); a message it does
// not hold is shown as written here, in English.
//
// `pybabel extract` finds the messages (babel.cfg: keywords = t), so the first argument is
// always a string literal, never a variable, and a t() is neither inside another's
// arguments nor inside a `template ${literal}`. Values go in by name, as in Python: t("%(n)s nodes", { n }). The result is
// text: set it with textContent, never as HTML.
let messages = null;

function catalogue() {
  if (messages === null) {
    try {
      messages = JSON.parse(document.getElementById("kizashi-messages")?.textContent || "{}");
    } catch {
      messages = {};
    }
  }
  return messages;
}

const has = (object, key) => Object.prototype.hasOwnProperty.call(object, key);

export function t(message, values) {
  const all = catalogue();
  const text = has(all, message) && typeof all[message] === "string" ? all[message] : message;
  if (!values) return text;
  return text.replace(/%(?:\((\w+)\)s|%)/g, (whole, name) => {
    if (name === undefined) return "%";
    return has(values, name) ? String(values[name]) : whole;
  });
}
