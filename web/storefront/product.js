// Product page: variants with price and availability; a variant nobody can buy cannot be chosen.
import { gql, session } from "./api.js";
import { announce, errorText, html, money, notice, show, thumb, userErrorText } from "./ui.js";
import { refreshCartCount } from "./cart.js";
import { reviewsSection } from "./reviews.js";

const PRODUCT = `
query Product($slug: String!) {
  product(slug: $slug) {
    id slug name description inStock
    category { name slug }
    variants { id sku name quantityAvailable price { amount currency } }
  }
}`;

const ADD = `
mutation Add($cartToken: String, $lines: [CartLineInput!]!) {
  cartLinesAdd(cartToken: $cartToken, lines: $lines) {
    cart { token totalQuantity }
    userErrors { field code message }
  }
}`;

const MAX_QUANTITY = 99;

function variantOption(variant, checked) {
  const available = variant.quantityAvailable > 0;
  const stock = available ? `${variant.quantityAvailable} in stock` : "Out of stock";
  return html`<label class="variant${available ? "" : " unavailable"}">
    <input type="radio" name="variant" value="${variant.id}"${checked ? html` checked` : ""}${available ? "" : html` disabled aria-disabled="true"`}>
    <span>${variant.name} \u2014 <span class="price">${money(variant.price)}</span> \u2014 ${stock}</span>
  </label>`;
}

export async function productView(main, slug) {
  let product;
  try {
    product = (await gql(PRODUCT, { slug })).product;
  } catch (error) {
    show(main, html`<h1>Product</h1>${notice("error", errorText(error))}`, "Product");
    return;
  }
  if (!product) {
    show(main, html`<h1>Not found</h1><p>There is no such product. <a href="#/">Back to the catalog</a></p>`, "Not found");
    return;
  }
  const firstAvailable = product.variants.find((v) => v.quantityAvailable > 0);
  show(
    main,
    html`<p><a href="#/${product.category ? `?category=${encodeURIComponent(product.category.slug)}` : ""}">\u2190 ${product.category?.name || "Catalog"}</a></p>
    <article class="product">
      ${thumb(product.name, product.slug, true)}
      <div>
        <h1>${product.name}</h1>
        <p>${product.description}</p>
        <form id="add-form" novalidate>
          <fieldset id="variants">
            <legend>Choose a variant</legend>
            ${product.variants.map((v) => variantOption(v, v === firstAvailable))}
          </fieldset>
          <div class="row">
            <div class="field">
              <label for="quantity">Quantity</label>
              <input id="quantity" name="quantity" type="number" min="1" max="${Math.min(firstAvailable?.quantityAvailable || 1, MAX_QUANTITY)}" value="1" inputmode="numeric" required>
            </div>
            <div class="field">
              <button type="submit" id="add-button"${firstAvailable ? "" : html` disabled`}>${firstAvailable ? "Add to cart" : "Out of stock"}</button>
            </div>
          </div>
          <div id="add-result"></div>
        </form>
      </div>
    </article>
    <section id="reviews" class="reviews-section" aria-labelledby="reviews-heading"></section>`,
    product.name,
  );
  reviewsSection(main.querySelector("#reviews"), product.slug);

  const form = main.querySelector("#add-form");
  const result = main.querySelector("#add-result");
  const quantity = main.querySelector("#quantity");
  form.addEventListener("change", (event) => {
    if (event.target.name !== "variant") return;
    const variant = product.variants.find((v) => v.id === event.target.value);
    quantity.max = String(Math.min(variant.quantityAvailable, MAX_QUANTITY));
  });
  // Re-reads the product and redraws its variants (stock, what can be chosen, the quantity's
  // bound); the shopper's variant stays chosen while any of it is left. Returns the notice.
  async function restock(variantId) {
    let fresh;
    try {
      fresh = (await gql(PRODUCT, { slug })).product;
    } catch (error) {
      return errorText(error);
    }
    if (!fresh) return "This product is no longer for sale.";
    product = fresh;
    const wanted = product.variants.find((v) => v.id === variantId);
    const chosen = wanted?.quantityAvailable > 0 ? wanted : product.variants.find((v) => v.quantityAvailable > 0);
    main.querySelector("#variants").innerHTML = String(
      html`<legend>Choose a variant</legend>${product.variants.map((v) => variantOption(v, v === chosen))}`,
    );
    quantity.max = String(Math.min(chosen?.quantityAvailable || 1, MAX_QUANTITY));
    const button = main.querySelector("#add-button");
    button.textContent = chosen ? "Add to cart" : "Out of stock";
    if (!chosen) button.dataset.soldOut = "true";
    const name = wanted ? wanted.name : "This variant";
    const left = wanted?.quantityAvailable || 0;
    if (left > 0) return `Only ${left} of ${name} ${left === 1 ? "is" : "are"} left now. Choose up to ${left}.`;
    return chosen
      ? `Sorry, ${name} sold out while you were looking. Other variants are still in stock.`
      : `Sorry, ${name} sold out while you were looking.`;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const variantId = form.querySelector('input[name="variant"]:checked')?.value;
    const count = Number(quantity.value);
    if (!variantId) {
      result.innerHTML = String(notice("error", "Choose a variant that is in stock."));
      return;
    }
    if (!Number.isInteger(count) || count < 1 || count > Number(quantity.max)) {
      result.innerHTML = String(notice("error", `Choose a quantity from 1 to ${quantity.max}.`));
      quantity.focus();
      return;
    }
    const button = main.querySelector("#add-button");
    button.disabled = true;
    try {
      const lines = [{ variantId, quantity: count }];
      let { cartLinesAdd } = await gql(ADD, { cartToken: session.auth ? null : session.cartToken, lines });
      if (!session.auth && cartLinesAdd.userErrors.some((e) => e.code === "CART_NOT_FOUND")) {
        session.cartToken = null; // that cart was checked out or has expired: start a new one
        ({ cartLinesAdd } = await gql(ADD, { cartToken: null, lines }));
      }
      if (cartLinesAdd.userErrors.some((e) => e.code === "OUT_OF_STOCK")) {
        // Stock changed since the page was shown: show what is on sale now, and say so plainly.
        result.innerHTML = String(notice("error", await restock(variantId)));
      } else if (cartLinesAdd.userErrors.length) {
        result.innerHTML = String(notice("error", userErrorText(cartLinesAdd.userErrors)));
      } else {
        if (!session.auth) session.cartToken = cartLinesAdd.cart.token;
        refreshCartCount(cartLinesAdd.cart.totalQuantity);
        result.innerHTML = String(notice("ok", html`Added to your cart. <a href="#/cart">View cart</a>`));
        announce("Added to your cart.");
      }
    } catch (error) {
      result.innerHTML = String(notice("error", errorText(error)));
    } finally {
      button.disabled = button.dataset.soldOut === "true";
    }
  });
}
