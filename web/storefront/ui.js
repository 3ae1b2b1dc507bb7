// Small helpers for rendering: escaped HTML templates, money, announcements and focus.

class Markup {
  constructor(text) { this.text = text; }
  toString() { return this.text; }
}

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const escape = (text) => String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);

function render(value) {
  if (value instanceof Markup) return value.text;
  if (Array.isArray(value)) return value.map(render).join("");
  if (value === null || value === undefined || value === false) return "";
  return escape(value);
}

/** A template whose interpolated values are escaped (arrays and nested templates are not). */
export function html(strings, ...values) {
  return new Markup(strings.reduce((out, text, i) => out + text + (i < values.length ? render(values[i]) : ""), ""));
}

export function money({ amount, currency }) {
  const format = new Intl.NumberFormat(undefined, { style: "currency", currency: currency.toUpperCase() });
  const digits = format.resolvedOptions().maximumFractionDigits;
  return format.format(amount / 10 ** digits);
}

/** Major units typed by a shopper ("12.50") in minor units, or null. */
export function minorUnits(text, currency = "usd") {
  if (text === "" || text === null || text === undefined) return null;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) return null;
  const digits = new Intl.NumberFormat(undefined, { style: "currency", currency: currency.toUpperCase() })
    .resolvedOptions().maximumFractionDigits;
  return Math.round(value * 10 ** digits);
}

export function announce(message) {
  const region = document.getElementById("announce");
  region.textContent = "";
  window.setTimeout(() => { region.textContent = message; }, 50);
}

/** Replaces the page's content, titles it and moves focus to its heading. */
export function show(main, markup, title, { focus = true } = {}) {
  main.innerHTML = render(markup);
  document.title = `${title} · Demo Store`;
  const heading = main.querySelector("h1");
  if (heading && focus) {
    heading.tabIndex = -1;
    heading.focus();
  }
}

export function notice(kind, message) {
  return html`<div class="notice ${kind}" role="${kind === "error" ? "alert" : "status"}">${message}</div>`;
}

/** A placeholder picture: product photos of the demo catalog live on a host we never fetch from. */
export function thumb(name, slug, large = false) {
  let hash = 0;
  for (const c of slug) hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
  const initials = name.split(/\s+/).slice(-2).map((word) => word[0] || "").join("").toUpperCase();
  return html`<div class="thumb hue-${hash % 8}${large ? " large" : ""}" aria-hidden="true">${initials}</div>`;
}

export function errorText(error) {
  return error?.message || "Something went wrong. Please try again.";
}

export const userErrorText = (errors) => errors.map((e) => e.message).join(" ");

/** Form fields as an object of strings, trimmed except passwords. */
export function formValues(form) {
  const values = {};
  for (const [name, value] of new FormData(form)) {
    const password = form.elements.namedItem(name)?.type === "password";
    values[name] = typeof value === "string" && !password ? value.trim() : value;
  }
  return values;
}

/** One line for an address (address book, saved addresses at checkout). */
export function addressText(address) {
  return [address.name, address.line1, address.line2, `${address.postalCode} ${address.city}`, address.state, address.country]
    .filter(Boolean)
    .join(", ");
}
