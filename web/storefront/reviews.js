// Ratings and reviews on the product page. Review text is the customers' own: it is put on the
// page with textContent only (never innerHTML), so markup in it shows as typed. A signed-in
// customer who received the product gets a form to write (or replace) their review.
import { gql, session } from "./api.js";
import { announce, errorText } from "./ui.js";

const PAGE = 5;

const PRODUCT_REVIEWS = `
  id
  rating { average count }
  reviews(first: ${PAGE}, after: $after, sort: $sort) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id rating title body authorName createdAt updatedAt } }
  }`;

// By slug, as every shopper asks (the server may answer from its catalog cache) ...
const REVIEWS = `
query ProductReviews($slug: String!, $after: String, $sort: ReviewSort) {
  product(slug: $slug) { ${PRODUCT_REVIEWS} }
}`;

// ... and by id right after the shopper's own review, which the cache may not have dropped yet.
const FRESH_REVIEWS = `
query FreshProductReviews($id: ID!, $after: String, $sort: ReviewSort) {
  node(id: $id) { ... on Product { ${PRODUCT_REVIEWS} } }
}`;

const ELIGIBILITY = `
query ReviewEligibility($productId: ID!) {
  reviewEligibility(productId: $productId) { canReview review { id rating title body isHidden } }
}`;

const SUBMIT = `
mutation ReviewSubmit($productId: ID!, $rating: Int!, $body: String!, $title: String) {
  reviewSubmit(productId: $productId, rating: $rating, body: $body, title: $title) {
    review { id rating title body isHidden }
    userErrors { field code message }
  }
}`;

/** An element with attributes and children; strings become text nodes, never markup. */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

const stars = (rating) => "\u2605".repeat(rating) + "\u2606".repeat(5 - rating);

function ratingSummary(rating) {
  if (!rating.count) return el("p", { class: "rating", text: "No reviews yet." });
  const label = `${rating.average.toFixed(1)} out of 5 from ${rating.count} review${rating.count === 1 ? "" : "s"}`;
  return el(
    "p",
    { class: "rating", "aria-label": label },
    el("span", { class: "stars", "aria-hidden": "true", text: stars(Math.round(rating.average)) }),
    ` ${label}`,
  );
}

function reviewItem(review) {
  const date = new Date(review.createdAt).toLocaleDateString();
  return el(
    "li",
    { class: "review", "data-review": review.id },
    el("p", { class: "stars", "aria-label": `${review.rating} out of 5`, text: stars(review.rating) }),
    review.title ? el("h3", { class: "review-title", text: review.title }) : null,
    el("p", { class: "review-body", text: review.body }),
    el("p", { class: "review-meta", text: `${review.authorName}, ${date}${review.updatedAt ? " (edited)" : ""}` }),
  );
}

function message(kind, text) {
  return el("div", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status", text });
}

/** Fills `section` with the product's rating, its reviews (sortable, paged) and the review form. */
export async function reviewsSection(section, slug) {
  section.replaceChildren(el("h2", { id: "reviews-heading", text: "Reviews" }));
  const summary = el("div");
  const sort = el(
    "select",
    { id: "review-sort", name: "sort" },
    el("option", { value: "NEWEST", text: "Newest" }),
    el("option", { value: "HIGHEST", text: "Highest rated" }),
    el("option", { value: "LOWEST", text: "Lowest rated" }),
  );
  const list = el("ol", { class: "reviews", id: "review-list" });
  const more = el("button", { type: "button", class: "secondary", id: "more-reviews", text: "More reviews" });
  const status = el("div");
  const formSlot = el("div", { id: "review-form-slot" });
  section.append(
    summary,
    el("div", { class: "field sort-field" }, el("label", { for: "review-sort", text: "Sort reviews" }), sort),
    list,
    more,
    status,
    formSlot,
  );

  let after = null;
  let productId = null;
  let fresh = false;
  async function load(reset) {
    if (reset) {
      after = null;
      list.replaceChildren();
    }
    more.hidden = true;
    try {
      const variables = { after, sort: sort.value };
      const product = fresh
        ? (await gql(FRESH_REVIEWS, { ...variables, id: productId })).node
        : (await gql(REVIEWS, { ...variables, slug })).product;
      if (!product) return;
      productId = product.id;
      summary.replaceChildren(ratingSummary(product.rating));
      list.append(...product.reviews.edges.map((edge) => reviewItem(edge.node)));
      after = product.reviews.pageInfo.endCursor;
      more.hidden = !product.reviews.pageInfo.hasNextPage;
      status.replaceChildren();
    } catch (error) {
      status.replaceChildren(message("error", errorText(error)));
    }
  }
  sort.addEventListener("change", () => load(true));
  more.addEventListener("click", () => load(false));
  await load(true);
  if (productId && session.auth) {
    await reviewForm(formSlot, productId, () => {
      fresh = true; // from now on this page reads past the cache
      return load(true);
    });
  }
}

async function reviewForm(slot, productId, reload) {
  let eligibility;
  try {
    eligibility = (await gql(ELIGIBILITY, { productId })).reviewEligibility;
  } catch {
    return; // signed out meanwhile: no form
  }
  if (!eligibility.canReview) return;
  const mine = eligibility.review;
  const ratings = el("fieldset", {}, el("legend", { text: "Your rating" }));
  for (let value = 5; value >= 1; value -= 1) {
    const input = el("input", { type: "radio", name: "rating", value: String(value), id: `rating-${value}` });
    if (mine?.rating === value) input.checked = true;
    ratings.append(el("label", { class: "check", for: `rating-${value}` }, input, ` ${stars(value)} ${value}`));
  }
  const title = el("input", { id: "review-title", name: "title", maxlength: "150" });
  title.value = mine?.title || "";
  const body = el("textarea", { id: "review-body", name: "body", rows: "5", maxlength: "5000", required: "" });
  body.value = mine?.body || "";
  const result = el("div", { id: "review-result" });
  const button = el("button", { type: "submit", id: "review-submit", text: mine ? "Update your review" : "Submit review" });
  const form = el(
    "form",
    { id: "review-form", novalidate: "" },
    el("h3", { text: mine ? "Your review" : "Review this product" }),
    mine?.isHidden ? message("warn", "The shop has hidden your review; it is not shown to others.") : null,
    ratings,
    el("div", { class: "field" }, el("label", { for: "review-title", text: "Title (optional)" }), title),
    el("div", { class: "field" }, el("label", { for: "review-body", text: "Your review" }), body),
    button,
    result,
  );
  slot.replaceChildren(form);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const rating = Number(form.querySelector('input[name="rating"]:checked')?.value);
    if (!rating) {
      result.replaceChildren(message("error", "Choose a rating from 1 to 5 stars."));
      return;
    }
    button.disabled = true;
    try {
      const { reviewSubmit } = await gql(SUBMIT, {
        productId,
        rating,
        body: body.value,
        title: title.value.trim() || null,
      });
      if (reviewSubmit.userErrors.length) {
        result.replaceChildren(message("error", reviewSubmit.userErrors.map((e) => e.message).join(" ")));
      } else {
        result.replaceChildren(message("ok", "Thank you: your review is saved."));
        announce("Your review is saved.");
        button.textContent = "Update your review";
        await reload();
      }
    } catch (error) {
      result.replaceChildren(message("error", errorText(error)));
    } finally {
      button.disabled = false;
    }
  });
}
