// Kizashi's UI script: htmx, plus the few behaviours the server-rendered pages need.
import htmx from "htmx.org";

window.htmx = htmx;

// Forms posted by htmx carry the session's anti-forgery token, like plain forms do.
document.addEventListener("htmx:configRequest", (event) => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) event.detail.headers["X-CSRF-Token"] = meta.content;
});
