// Checkout totals (issue 15): shipping methods for the address, a discount code, a VAT number,
// and the breakdown (subtotal, discount, shipping, tax lines, total) from Cart.estimate, which
// computes exactly what checkoutCreate will charge.
import { gql } from "./api.js";
import { html, money, notice, userErrorText } from "./ui.js";

const ESTIMATE = `
query Estimate($token: String, $address: AddressInput!, $method: ID, $vat: String) {
  cart(token: $token) {
    discountCodes
    shippingMethods(address: $address) { id name price { amount currency } deliveryEstimate }
    estimate(address: $address, shippingMethodId: $method, vatNumber: $vat) {
      subtotal { amount currency } discount { amount currency } shipping { amount currency }
      tax { amount currency } total { amount currency }
      taxLines { name rate amount { amount currency } }
      pricesIncludeTax reverseCharge vatNumberValid
    }
  }
}`;

const APPLY = `
mutation Apply($cartToken: String, $code: String!) {
  cartDiscountCodeApply(cartToken: $cartToken, code: $code) { cart { discountCodes } userErrors { field code message } }
}`;

const REMOVE = `
mutation RemoveCode($cartToken: String, $code: String!) {
  cartDiscountCodeRemove(cartToken: $cartToken, code: $code) { cart { discountCodes } userErrors { field code message } }
}`;

/** The checkout form's part: shipping methods, discount code, VAT number and the breakdown. */
export function totalsFieldsets() {
  return html`<fieldset id="shipping-methods"><legend>Shipping method</legend>
      <p class="muted" id="methods-hint">Enter your address to see the shipping methods.</p>
      <div id="method-list"></div>
    </fieldset>
    <fieldset><legend>Discount code and business purchase</legend>
      <div class="row">
        <div class="field"><label for="discount-code">Discount code (optional)</label><input id="discount-code" autocomplete="off"></div>
        <button type="button" class="secondary" id="apply-code">Apply</button>
      </div>
      <div id="code-status"></div>
      <div class="field"><label for="vatNumber">EU VAT number (optional, businesses)</label>
        <input id="vatNumber" name="vatNumber" autocomplete="off" placeholder="e.g. FR40303265045"></div>
      <div id="vat-status"></div>
    </fieldset>
    <section aria-labelledby="breakdown-title" class="panel"><h2 id="breakdown-title">Order summary</h2>
      <div id="totals-breakdown" aria-live="polite"><p class="muted">Enter your address to see shipping and tax.</p></div>
    </section>`;
}

function breakdown(estimate) {
  const rows = [["Subtotal", money(estimate.subtotal)]];
  if (estimate.discount.amount) rows.push(["Discount", `−${money(estimate.discount)}`]);
  rows.push(["Shipping", money(estimate.shipping)]);
  for (const line of estimate.taxLines) {
    rows.push([`${line.name}${estimate.pricesIncludeTax ? " (included)" : ""}`, money(line.amount)]);
  }
  if (estimate.reverseCharge) rows.push(["VAT", "reverse charge: VAT due by the buyer"]);
  return html`<table class="totals" id="totals-table">
    ${rows.map(([name, value]) => html`<tr><th scope="row">${name}</th><td class="num">${value}</td></tr>`)}
    <tr class="grand"><th scope="row">Total</th><td class="num" id="checkout-total"><strong>${money(estimate.total)}</strong></td></tr>
  </table>`;
}

/** Wires the fieldsets into the form; answers what checkoutCreate needs from them. */
export function wireTotals(form, cartToken, addressOf) {
  const list = form.querySelector("#method-list");
  const hint = form.querySelector("#methods-hint");
  const summary = form.ownerDocument.getElementById("totals-breakdown");
  const codeStatus = form.querySelector("#code-status");
  const vatStatus = form.querySelector("#vat-status");
  const vatInput = form.querySelector("#vatNumber");
  let chosen = null;
  let codes = [];
  let pending = 0;

  const refresh = async () => {
    const address = addressOf();
    if (!address.country || !address.postalCode) return;
    const ticket = ++pending;
    const vat = vatInput.value.trim() || null;
    let cart;
    try {
      ({ cart } = await gql(ESTIMATE, { token: cartToken(), address, method: chosen, vat }));
    } catch (error) {
      summary.innerHTML = String(notice("error", String(error.message || error)));
      return;
    }
    if (ticket !== pending || !cart) return;
    codes = cart.discountCodes;
    const methods = cart.shippingMethods;
    if (chosen && !methods.some((m) => m.id === chosen)) {
      chosen = null;
      return refresh();
    }
    hint.textContent = methods.length ? "" : "No shipping method delivers to this address.";
    const selected = chosen || [...methods].sort((a, b) => a.price.amount - b.price.amount)[0]?.id;
    list.innerHTML = String(html`${methods.map((m) => html`<label class="method"><input type="radio" name="shippingMethod" value="${m.id}" ${m.id === selected ? html(["checked"]) : ""}>
      ${m.name} · <strong>${m.price.amount ? money(m.price) : "Free"}</strong>${m.deliveryEstimate ? html` <span class="muted">(${m.deliveryEstimate})</span>` : ""}</label>`)}`);
    for (const radio of list.querySelectorAll("input[type=radio]")) {
      radio.addEventListener("change", () => { chosen = radio.value; refresh(); });
    }
    const estimate = cart.estimate;
    vatStatus.innerHTML = estimate.vatNumberValid === false
      ? String(notice("error", "This VAT number is not valid."))
      : estimate.reverseCharge ? String(notice("ok", "Valid VAT number: reverse charge, no VAT is charged.")) : "";
    codeStatus.innerHTML = codes.length
      ? String(html`<p>Code <strong id="applied-code">${codes[0]}</strong> applied. <button type="button" class="secondary" id="remove-code">Remove</button></p>`)
      : codeStatus.innerHTML;
    codeStatus.querySelector("#remove-code")?.addEventListener("click", async () => {
      await gql(REMOVE, { cartToken: cartToken(), code: codes[0] });
      codeStatus.innerHTML = "";
      refresh();
    });
    summary.innerHTML = String(breakdown(estimate));
  };

  form.querySelector("#apply-code").addEventListener("click", async () => {
    const code = form.querySelector("#discount-code").value.trim();
    if (!code) return;
    const { cartDiscountCodeApply: result } = await gql(APPLY, { cartToken: cartToken(), code });
    codeStatus.innerHTML = result.userErrors.length ? String(notice("error", userErrorText(result.userErrors))) : "";
    refresh();
  });
  for (const name of ["country", "state", "postalCode", "vatNumber"]) {
    form.elements.namedItem(name)?.addEventListener("change", refresh);
  }
  refresh();
  return () => ({
    shippingMethodId: list.querySelector("input[type=radio]:checked")?.value || null,
    vatNumber: vatInput.value.trim() || null,
  });
}
