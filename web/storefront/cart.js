// Cart (anonymous token in localStorage, or the signed-in customer's cart) and checkout.
import { API_IS_SAME_ORIGIN, gql, session } from "./api.js";
import { totalsFieldsets, wireTotals } from "./totals.js";
import { addressText, announce, errorText, formValues, html, money, notice, show, userErrorText } from "./ui.js";

const CART_FIELDS = `
  token totalQuantity subtotal { amount currency }
  lines { id quantity priceChanged unitPrice { amount currency } lineTotal { amount currency }
          variant { id name sku quantityAvailable product { name slug } } }`;

const CART = `query Cart($token: String) { cart(token: $token) { ${CART_FIELDS} } }`;

const UPDATE = `
mutation Update($cartToken: String, $lines: [CartLineUpdateInput!]!) {
  cartLinesUpdate(cartToken: $cartToken, lines: $lines) { cart { ${CART_FIELDS} } userErrors { field code message } }
}`;

const REMOVE = `
mutation Remove($cartToken: String, $lineIds: [ID!]!) {
  cartLinesRemove(cartToken: $cartToken, lineIds: $lineIds) { cart { ${CART_FIELDS} } userErrors { field code message } }
}`;

const CHECKOUT = `
mutation Checkout($cartToken: String, $email: String, $address: AddressInput!, $successUrl: String, $cancelUrl: String,
                 $shippingMethodId: ID, $vatNumber: String) {
  checkoutCreate(cartToken: $cartToken, email: $email, shippingAddress: $address,
                 successUrl: $successUrl, cancelUrl: $cancelUrl,
                 shippingMethodId: $shippingMethodId, vatNumber: $vatNumber) {
    order { id number }
    checkoutUrl
    orderToken
    userErrors { field code message }
  }
}`;

const SAVED_ADDRESSES = `{ me { addresses { id isDefaultShipping
  address { name line1 line2 city state postalCode country } } } }`;

const COUNTRIES = [
  ["US", "United States"], ["CA", "Canada"], ["GB", "United Kingdom"], ["IE", "Ireland"], ["DE", "Germany"],
  ["FR", "France"], ["ES", "Spain"], ["IT", "Italy"], ["NL", "Netherlands"], ["BE", "Belgium"],
  ["AT", "Austria"], ["CH", "Switzerland"], ["SE", "Sweden"], ["DK", "Denmark"], ["NO", "Norway"],
  ["FI", "Finland"], ["PL", "Poland"], ["PT", "Portugal"], ["AU", "Australia"], ["NZ", "New Zealand"],
  ["JP", "Japan"],
];

const cartToken = () => (session.auth ? null : session.cartToken);

export async function loadCart() {
  if (!session.auth && !session.cartToken) return null;
  const { cart } = await gql(CART, { token: cartToken() });
  if (!cart && !session.auth) session.cartToken = null; // checked out or expired
  return cart;
}

export function refreshCartCount(count) {
  document.getElementById("cart-count").textContent = String(count ?? 0);
  document.getElementById("cart-link").setAttribute("aria-label", `Cart, ${count ?? 0} items`);
}

export async function updateCartCount() {
  try {
    refreshCartCount((await loadCart())?.totalQuantity ?? 0);
  } catch {
    refreshCartCount(0);
  }
}

function lineRow(line) {
  const name = `${line.variant.product.name} (${line.variant.name})`;
  return html`<tr data-line="${line.id}">
    <td data-label="Item"><a href="#/product/${encodeURIComponent(line.variant.product.slug)}">${line.variant.product.name}</a>
      <div class="muted">${line.variant.name}</div>
      ${line.priceChanged ? html`<div class="muted">Price changed since you added it; you pay ${money(line.unitPrice)} while it is held.</div>` : ""}</td>
    <td data-label="Price" class="num">${money(line.unitPrice)}</td>
    <td data-label="Quantity">
      <label class="visually-hidden" for="qty-${line.id}">Quantity of ${name}</label>
      <input id="qty-${line.id}" class="line-quantity" type="number" min="0" max="99" value="${line.quantity}" inputmode="numeric">
    </td>
    <td data-label="Total" class="num">${money(line.lineTotal)}</td>
    <td><button type="button" class="secondary remove" aria-label="Remove ${name}">Remove</button></td>
  </tr>`;
}

function cartMarkup(cart, message) {
  if (!cart || cart.lines.length === 0) {
    return html`<h1>Your cart</h1>${message || ""}<p>Your cart is empty. <a href="#/">Browse the catalog</a></p>`;
  }
  return html`<h1>Your cart</h1>${message || ""}
    <table class="stack lines">
      <caption class="visually-hidden">Items in your cart</caption>
      <thead><tr><th>Item</th><th class="num">Price</th><th>Quantity</th><th class="num">Total</th><th><span class="visually-hidden">Actions</span></th></tr></thead>
      <tbody>${cart.lines.map(lineRow)}</tbody>
    </table>
    <p class="row"><span>Subtotal (<span id="cart-total-quantity">${cart.totalQuantity}</span> items): <strong id="cart-subtotal">${money(cart.subtotal)}</strong></span></p>
    <p class="row"><button type="button" class="secondary" id="update-cart">Update quantities</button>
      <a class="button" href="#/checkout" id="to-checkout">Check out</a></p>`;
}

export async function cartView(main) {
  let cart;
  try {
    cart = await loadCart();
  } catch (error) {
    show(main, html`<h1>Your cart</h1>${notice("error", errorText(error))}`, "Cart");
    return;
  }
  const render = (current, message, focus = true) => {
    show(main, cartMarkup(current, message), "Cart", { focus });
    refreshCartCount(current?.totalQuantity ?? 0);
    wire(current);
  };
  const apply = async (mutation, variables, name) => {
    try {
      const data = (await gql(mutation, { cartToken: cartToken(), ...variables }))[name];
      if (data.userErrors.length) render(data.cart || cart, notice("error", userErrorText(data.userErrors)), false);
      else {
        cart = data.cart;
        render(cart, notice("ok", "Your cart was updated."), false);
        announce("Your cart was updated.");
      }
    } catch (error) {
      render(cart, notice("error", errorText(error)), false);
    }
  };
  const wire = (current) => {
    if (!current) return;
    for (const button of main.querySelectorAll("button.remove")) {
      button.addEventListener("click", () => apply(REMOVE, { lineIds: [button.closest("tr").dataset.line] }, "cartLinesRemove"));
    }
    main.querySelector("#update-cart")?.addEventListener("click", () => {
      const lines = [...main.querySelectorAll("tr[data-line]")].map((row) => ({
        lineId: row.dataset.line,
        quantity: Number(row.querySelector(".line-quantity").value),
      }));
      if (lines.some((line) => !Number.isInteger(line.quantity) || line.quantity < 0 || line.quantity > 99)) {
        render(current, notice("error", "Quantities go from 0 (remove) to 99."), false);
        return;
      }
      apply(UPDATE, { lines }, "cartLinesUpdate");
    });
  };
  render(cart);
}

// ---------------------------------------------------------------- checkout

function field(name, label, attributes = "", value = "") {
  return html`<div class="field"><label for="${name}">${label}</label><input id="${name}" name="${name}" value="${value}" ${html([attributes])}></div>`;
}

export async function checkoutView(main) {
  let cart;
  try {
    cart = await loadCart();
  } catch (error) {
    show(main, html`<h1>Checkout</h1>${notice("error", errorText(error))}`, "Checkout");
    return;
  }
  if (!cart || cart.lines.length === 0) {
    show(main, html`<h1>Checkout</h1><p>Your cart is empty. <a href="#/">Browse the catalog</a></p>`, "Checkout");
    return;
  }
  const email = session.auth?.email || "";
  show(
    main,
    html`<h1>Checkout</h1>
    <p>${cart.totalQuantity} items, subtotal <strong>${money(cart.subtotal)}</strong>. <a href="#/cart">Change the cart</a></p>
    <div id="checkout-errors"></div>
    <form id="checkout-form" class="panel" novalidate>
      <fieldset><legend>Contact</legend>
        ${field("email", "E-mail", 'type="email" autocomplete="email" required', email)}
      </fieldset>
      <fieldset><legend>Shipping address</legend>
        ${field("name", "Full name", 'autocomplete="name" required')}
        ${field("line1", "Address", 'autocomplete="address-line1" required')}
        ${field("line2", "Apartment, suite (optional)", 'autocomplete="address-line2"')}
        <div class="row">
          ${field("city", "City", 'autocomplete="address-level2" required')}
          ${field("state", "State or region (optional)", 'autocomplete="address-level1"')}
          ${field("postalCode", "Postal code", 'autocomplete="postal-code" required')}
        </div>
        <div class="field"><label for="country">Country</label>
          <select id="country" name="country" autocomplete="country" required>${COUNTRIES.map(([code, name]) => html`<option value="${code}">${name}</option>`)}</select></div>
      </fieldset>
      ${totalsFieldsets()}
      <button type="submit" id="pay-button">Continue to payment</button>
    </form>`,
    "Checkout",
  );
  const form = main.querySelector("#checkout-form");
  const errors = main.querySelector("#checkout-errors");
  const addressOf = (values) => ({
    name: values.name, line1: values.line1, line2: values.line2 || null, city: values.city,
    state: values.state || null, postalCode: values.postalCode, country: values.country,
  });
  const totalsChoice = wireTotals(form, cartToken, () => addressOf(formValues(form)));
  if (session.auth) offerSavedAddresses(form);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
    const values = formValues(form);
    const missing = [...form.querySelectorAll("[required]")].filter((input) => !input.value.trim());
    if (missing.length) {
      for (const input of missing) input.setAttribute("aria-invalid", "true");
      errors.innerHTML = String(notice("error", `Please fill in: ${missing.map((i) => i.labels[0].textContent).join(", ")}.`));
      missing[0].focus();
      return;
    }
    const button = main.querySelector("#pay-button");
    button.disabled = true;
    // A storefront on another origin asks to come back to itself; served by the API's own server,
    // it takes the default (STOREFRONT_URL/checkout/success?order=N), which leads to the order page.
    const back = `${window.location.origin}${window.location.pathname}`;
    const returns = API_IS_SAME_ORIGIN ? {} : { successUrl: `${back}?checkout=success`, cancelUrl: `${back}?checkout=cancel` };
    try {
      const { checkoutCreate } = await gql(CHECKOUT, {
        cartToken: cartToken(),
        email: values.email,
        address: addressOf(values),
        ...totalsChoice(),
        ...returns,
      });
      if (checkoutCreate.userErrors.length) {
        for (const problem of checkoutCreate.userErrors) {
          const input = problem.field && form.elements.namedItem(problem.field[problem.field.length - 1]);
          if (input) input.setAttribute("aria-invalid", "true");
        }
        errors.innerHTML = String(notice("error", userErrorText(checkoutCreate.userErrors)));
        errors.querySelector("[role=alert]")?.focus();
        button.disabled = false;
        return;
      }
      const { order, orderToken, checkoutUrl } = checkoutCreate;
      session.rememberOrder(order.id, { number: order.number, token: orderToken, checkoutUrl });
      session.lastCheckout = order.id;
      if (!session.auth) session.cartToken = null; // checkout closed that cart
      refreshCartCount(0);
      window.location.assign(checkoutUrl);
    } catch (error) {
      errors.innerHTML = String(notice("error", errorText(error)));
      button.disabled = false;
    }
  });
}

/** A signed-in customer's address book at checkout: the default shipping address fills the form,
 * and any saved address can be picked instead (the fields stay editable). */
async function offerSavedAddresses(form) {
  let saved;
  try {
    saved = (await gql(SAVED_ADDRESSES)).me?.addresses ?? [];
  } catch {
    return; // the form works without them
  }
  if (!saved.length) return;
  const legend = form.querySelector("fieldset:nth-of-type(2) legend");
  legend.insertAdjacentHTML(
    "afterend",
    String(html`<div class="field"><label for="saved-address">Saved address</label>
      <select id="saved-address">${saved.map((entry) => html`<option value="${entry.id}">${addressText(entry.address)}</option>`)}
      <option value="">A new address</option></select></div>`),
  );
  const select = form.querySelector("#saved-address");
  const fill = () => {
    const entry = saved.find((candidate) => candidate.id === select.value);
    for (const name of ["name", "line1", "line2", "city", "state", "postalCode", "country"]) {
      const input = form.elements.namedItem(name);
      const value = entry ? entry.address[name] || "" : "";
      if (input.tagName === "SELECT" && value && ![...input.options].some((option) => option.value === value)) {
        input.insertAdjacentHTML("beforeend", String(html`<option value="${value}">${value}</option>`));
      }
      if (entry || input.tagName !== "SELECT") input.value = value;
    }
    form.elements.namedItem("country").dispatchEvent(new Event("change")); // shipping methods and totals
  };
  select.value = (saved.find((entry) => entry.isDefaultShipping) ?? saved[0]).id;
  select.addEventListener("change", fill);
  fill();
}
