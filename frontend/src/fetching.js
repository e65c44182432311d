// What the drawing scripts share with the server and the browser: JSON from the API
// with the session's cookie (an error's message from the API's error body), and a file
// handed to the user as a download.
import { t } from "./i18n.js";

export async function getJSON(url) {
  const r = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  let body = null;
  try {
    body = await r.json();
  } catch {
    body = null;
  }
  if (!r.ok) throw new Error(body?.error?.message || t("The server answered %(status)s.", { status: r.status }));
  return body;
}

export function download(blob, filename) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}
