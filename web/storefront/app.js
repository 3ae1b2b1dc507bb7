// The storefront's router: every page lives behind the URL's #fragment, so any static host can serve
// this folder as it is.
import { accountView, updateAccountNav } from "./account.js";
import { accountPage } from "./account-pages.js";
import { cartView, checkoutView, updateCartCount } from "./cart.js";
import { catalogView } from "./catalog.js";
import { myOrdersView, orderAfterCheckout, orderView } from "./orders.js";
import { productView } from "./product.js";
import { html, show } from "./ui.js";

const main = document.getElementById("main");
let stopView = null; // unsubscribes the live order status of the page being left
let outcome = null; // "success" or "cancel" when back from the payment page

function navigate(hash) {
  if (window.location.hash === hash) route();
  else window.location.hash = hash;
}

function markCurrentLink(path) {
  for (const link of document.querySelectorAll(".site-header nav a")) {
    const target = link.getAttribute("href").slice(1).split("?")[0] || "/";
    const current = target === "/" ? path === "/" || path.startsWith("/product/") : path.startsWith(target);
    if (current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

async function route() {
  stopView?.();
  stopView = null;
  const [path, query = ""] = (window.location.hash.slice(1) || "/").split("?");
  const params = new URLSearchParams(query);
  markCurrentLink(path);
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0) return catalogView(main, params, navigate);
  if (parts[0] === "product" && parts[1]) return productView(main, parts[1]);
  if (parts[0] === "cart") return cartView(main);
  if (parts[0] === "checkout") return checkoutView(main);
  if (parts[0] === "account" && parts[1]) return accountPage(main, parts[1], params, navigate);
  if (parts[0] === "account") return accountView(main, navigate);
  if (parts[0] === "orders" && parts[1]) {
    const leaving = outcome;
    outcome = null;
    stopView = await orderView(main, parts[1], leaving);
    return undefined;
  }
  if (parts[0] === "orders") return myOrdersView(main, navigate);
  show(main, html`<h1>Not found</h1><p><a href="#/">Back to the catalog</a></p>`, "Not found");
  return undefined;
}

async function start() {
  // The skip link moves focus without touching the #fragment, which holds the route.
  document.querySelector(".skip-link").addEventListener("click", (event) => {
    event.preventDefault();
    main.focus();
  });
  updateAccountNav();
  updateCartCount();
  const search = new URLSearchParams(window.location.search);
  const back = search.get("checkout");
  if (back === "success" || back === "cancel") {
    // Returned from the payment page: show the order it was for, with a clean address.
    outcome = back;
    const id = await orderAfterCheckout(search.get("order"));
    const hash = id ? `#/orders/${encodeURIComponent(id)}` : "#/orders";
    window.history.replaceState(null, "", `${window.location.pathname}${hash}`);
  }
  window.addEventListener("hashchange", route);
  route();
}

start();
