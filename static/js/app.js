// Console wiring for htmx: CSRF header on every request (422 forms are swapped in by
// the htmx-config meta tag), network or server errors shown in the message area instead of
// being swallowed, focus on the first control of each step htmx swaps in, and Escape as
// Cancel on a review step.
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

// A swapped-in step names the control to focus with data-autofocus (wallets/htmx.py says why
// not autofocus); htmx fires htmx:load on each element it inserts.
document.addEventListener("htmx:load", (event) => {
  const root = event.target;
  const control = root.matches("[data-autofocus]") ? root : root.querySelector("[data-autofocus]");
  if (control) control.focus();
});

// Escape on a review step is its Cancel.
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape" || event.defaultPrevented || !(event.target instanceof Element)) return;
  const cancel = event.target.closest(".confirm")?.querySelector("[data-cancel]");
  if (cancel) {
    event.preventDefault();
    cancel.click();
  }
});

// "Load more" swaps its own row (#more-...) for the next rows: the focus goes to the first
// control of the first new row, where reading goes on, instead of dropping to <body>.
let moreFocus = false;
document.addEventListener("htmx:beforeSwap", (event) => {
  const target = event.detail.target;
  moreFocus = target.id.startsWith("more-") && target.contains(document.activeElement);
});
document.addEventListener("htmx:load", (event) => {
  if (!moreFocus) return;
  const control = event.target.matches("a, button") ? event.target : event.target.querySelector("a, button");
  if (control) {
    moreFocus = false;
    control.focus();
  }
});
document.addEventListener("htmx:afterSettle", () => { moreFocus = false; });
