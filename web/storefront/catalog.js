// Catalog: search (typo tolerant on the server), filters, sort and cursor paging.
import { gql } from "./api.js";
import { errorText, html, minorUnits, money, notice, show, thumb } from "./ui.js";

const PAGE = 12;

const PRODUCTS = `
query Catalog($after: String, $filter: ProductFilter, $sort: ProductSort) {
  products(first: ${PAGE}, after: $after, filter: $filter, sort: $sort) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id slug name inStock category { name } priceRange { min { amount currency } max { amount currency } } } }
  }
}`;

const CATEGORIES = "{ categories { name slug parent { slug } } }";

const SORTS = [
  ["", "Best match"],
  ["NEWEST", "Newest"],
  ["NAME", "Name"],
  ["PRICE_ASC", "Price: low to high"],
  ["PRICE_DESC", "Price: high to low"],
  ["RATING", "Top rated"],
];

let categories = null;
// Cursors of the pages before this one, for "Previous page" (the API pages forward only).
let trail = { key: "", cursors: [] };

function filterFrom(params) {
  const filter = {};
  if (params.get("q")) filter.search = params.get("q");
  if (params.get("category")) filter.categorySlug = params.get("category");
  const min = minorUnits(params.get("min"));
  const max = minorUnits(params.get("max"));
  if (min !== null) filter.minPrice = min;
  if (max !== null) filter.maxPrice = max;
  if (params.get("instock") === "1") filter.inStock = true;
  return filter;
}

function priceText({ min, max }) {
  return min.amount === max.amount ? money(min) : `From ${money(min)}`;
}

function card(product) {
  return html`<li class="card">
    ${thumb(product.name, product.slug)}
    <div class="body">
      <a href="#/product/${encodeURIComponent(product.slug)}">${product.name}</a>
      <span class="muted">${product.category?.name || ""}</span>
      <span class="price">${priceText(product.priceRange)}</span>
      ${product.inStock ? "" : html`<span class="badge out">Out of stock</span>`}
    </div>
  </li>`;
}

function form(params) {
  const selected = (a, b) => (a === b ? html` selected` : "");
  const options = (categories || []).map(
    (c) => html`<option value="${c.slug}"${selected(c.slug, params.get("category") || "")}>${c.parent ? "\u2014 " : ""}${c.name}</option>`,
  );
  return html`<form class="filters" role="search" aria-label="Products" id="catalog-form">
    <div class="field">
      <label for="q">Search</label>
      <input id="q" name="q" type="search" value="${params.get("q") || ""}" placeholder="e.g. bluetooth speaker" autocomplete="off">
    </div>
    <div class="field">
      <label for="category">Category</label>
      <select id="category" name="category"><option value="">All categories</option>${options}</select>
    </div>
    <div class="field">
      <label for="sort">Sort by</label>
      <select id="sort" name="sort">${SORTS.map(([value, text]) => html`<option value="${value}"${selected(value, params.get("sort") || "")}>${text}</option>`)}</select>
    </div>
    <div class="field">
      <label for="min">Min price</label>
      <input id="min" name="min" type="number" min="0" step="0.01" inputmode="decimal" value="${params.get("min") || ""}">
    </div>
    <div class="field">
      <label for="max">Max price</label>
      <input id="max" name="max" type="number" min="0" step="0.01" inputmode="decimal" value="${params.get("max") || ""}">
    </div>
    <div class="field wide row">
      <label class="check"><input type="checkbox" name="instock" value="1"${params.get("instock") === "1" ? html` checked` : ""}> In stock only</label>
      <button type="submit">Search</button>
    </div>
  </form>`;
}

export async function catalogView(main, params, navigate) {
  categories ||= (await gql(CATEGORIES).catch(() => ({ categories: [] }))).categories;
  const key = [...params].filter(([name]) => name !== "after").map((pair) => pair.join("=")).join("&");
  if (trail.key !== key) trail = { key, cursors: [] };
  const after = params.get("after");
  if (!after) trail.cursors = [];

  let body;
  try {
    const data = await gql(PRODUCTS, { after: after || null, filter: filterFrom(params), sort: params.get("sort") || null });
    const { totalCount, pageInfo, edges } = data.products;
    const query = new URLSearchParams(params);
    const hasPrevious = Boolean(after);
    body = html`
      <p class="muted" id="result-count">${totalCount === 1 ? "1 product" : `${totalCount} products`}</p>
      ${edges.length ? html`<ul class="grid" aria-label="Products">${edges.map((e) => card(e.node))}</ul>` : html`<p>No products match. Try fewer filters or other words.</p>`}
      <nav class="pager" aria-label="Pages">
        ${hasPrevious ? html`<button type="button" class="secondary" id="previous-page">Previous page</button>` : html`<span></span>`}
        ${pageInfo.hasNextPage ? html`<button type="button" class="secondary" id="next-page">Next page</button>` : ""}
      </nav>`;
    show(main, html`<h1>${params.get("q") ? `Results for \u201c${params.get("q")}\u201d` : "Catalog"}</h1>${form(params)}${body}`, "Catalog");
    main.querySelector("#next-page")?.addEventListener("click", () => {
      trail.cursors.push(after || "");
      query.set("after", pageInfo.endCursor);
      navigate(`#/?${query}`);
    });
    main.querySelector("#previous-page")?.addEventListener("click", () => {
      const previous = trail.cursors.pop();
      if (previous) query.set("after", previous);
      else query.delete("after");
      navigate(`#/?${query}`);
    });
  } catch (error) {
    show(main, html`<h1>Catalog</h1>${form(params)}${notice("error", errorText(error))}`, "Catalog");
  }
  main.querySelector("#catalog-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const query = new URLSearchParams();
    for (const [name, value] of new FormData(event.target)) if (String(value).trim()) query.set(name, String(value).trim());
    navigate(`#/?${query}`);
  });
}
