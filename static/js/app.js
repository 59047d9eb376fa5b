// Console wiring for htmx: CSRF header on every request (422 forms are swapped in by
// the htmx-config meta tag), and network or server errors shown in the message area instead of being swallowed.
document.addEventListener("htmx:configRequest", (event) => {
  const token = document.querySelector('meta[name="csrf-token"]');
  if (token) event.detail.headers["X-CSRFToken"] = token.content;
});

function showError(text) {
  const area = document.getElementById("messages");
  if (!area) return;
  const p = document.createElement("p");
  p.className = "flash error";
  p.textContent = text;
  area.replaceChildren(p);
}

document.addEventListener("htmx:responseError", (event) => {
  const status = event.detail.xhr.status;
  showError(status === 403 ? "You are not allowed to do that." :
            status === 429 ? "Too many requests; wait a moment and try again." :
            `Something went wrong (${status}). Nothing was changed; please try again.`);
});
document.addEventListener("htmx:sendError", () => {
  showError("The server could not be reached. Check your connection and try again.");
});
