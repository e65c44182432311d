// Kizashi's UI script: htmx, plus the few behaviours the server-rendered pages need.
import htmx from "htmx.org";

window.htmx = htmx;

// No inline handlers (the Content-Security-Policy forbids them): behaviour by attribute.
document.addEventListener("submit", (event) => {
  const message = event.target.dataset?.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});
document.addEventListener("change", (event) => {
  if (event.target.matches?.("[data-autosubmit]")) event.target.form.requestSubmit();
});

// Forms posted by htmx carry the session's anti-forgery token, like plain forms do.
document.addEventListener("htmx:configRequest", (event) => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) event.detail.headers["X-CSRF-Token"] = meta.content;
});
