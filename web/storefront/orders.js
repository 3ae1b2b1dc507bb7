// The order page, following orderStatusChanged live (with the order token for guests), and
// "my orders" for a signed-in customer.
import { gql, session, subscribe } from "./api.js";
import { announce, errorText, html, money, notice, show } from "./ui.js";

const ORDER_FIELDS = `
  id number status email createdAt paidAt trackingNumber
  subtotal { amount currency } total { amount currency }
  lines { id sku productName variantName quantity unitPrice { amount currency } lineTotal { amount currency } }
  shippingAddress { name line1 line2 city state postalCode country }
  statusHistory { from to at reason }`;

const ORDER = `query Order($id: ID!, $token: String) { order(id: $id, orderToken: $token) { ${ORDER_FIELDS} } }`;

const FOLLOW = `
subscription Follow($id: ID!, $token: String) {
  orderStatusChanged(orderId: $id, orderToken: $token) { from to at }
}`;

const CANCEL = `
mutation Cancel($id: ID!, $token: String) {
  orderCancel(id: $id, orderToken: $token, reason: "Cancelled by the shopper") { order { ${ORDER_FIELDS} } userErrors { code message } }
}`;

const MY_ORDERS = `
query MyOrders($after: String) {
  orders(first: 20, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id number status createdAt total { amount currency } } }
  }
}`;

const LABELS = {
  PENDING: "Pending",
  AWAITING_PAYMENT: "Awaiting payment",
  PAID: "Paid",
  PROCESSING: "Processing",
  SHIPPED: "Shipped",
  DELIVERED: "Delivered",
  COMPLETED: "Completed",
  FAILED: "Failed",
  CANCELLED: "Cancelled",
  REFUNDED: "Refunded",
};

const when = (iso) => new Date(iso).toLocaleString();

function statusBadge(status) {
  return html`<span class="status ${status}" data-status="${status}">${LABELS[status] || status}</span>`;
}

function orderDetails(order, stored) {
  const address = order.shippingAddress;
  const payable = order.status === "AWAITING_PAYMENT";
  return html`
    <div class="row">
      ${payable && stored?.checkoutUrl ? html`<a class="button" href="${stored.checkoutUrl}" id="pay-now">Pay now</a>` : ""}
      ${payable ? html`<button type="button" class="secondary" id="cancel-order">Cancel order</button>` : ""}
    </div>
    <h2>Items</h2>
    <table class="stack">
      <thead><tr><th>Item</th><th class="num">Price</th><th class="num">Quantity</th><th class="num">Total</th></tr></thead>
      <tbody>${order.lines.map((line) => html`<tr>
        <td data-label="Item">${line.productName} <span class="muted">(${line.variantName})</span></td>
        <td data-label="Price" class="num">${money(line.unitPrice)}</td>
        <td data-label="Quantity" class="num">${line.quantity}</td>
        <td data-label="Total" class="num">${money(line.lineTotal)}</td></tr>`)}</tbody>
    </table>
    <p>Total: <strong id="order-total">${money(order.total)}</strong></p>
    <div class="two">
      <section class="panel" aria-labelledby="ship-heading"><h2 id="ship-heading">Shipping to</h2>
        <p>${address.name}<br>${address.line1}${address.line2 ? html`<br>${address.line2}` : ""}<br>
        ${address.postalCode} ${address.city}${address.state ? `, ${address.state}` : ""}<br>${address.country}</p>
        ${order.trackingNumber ? html`<p>Tracking number: <strong>${order.trackingNumber}</strong></p>` : ""}
      </section>
      <section class="panel" aria-labelledby="history-heading"><h2 id="history-heading">History</h2>
        <ol class="history" id="order-history">${order.statusHistory.map((change) => html`<li>${LABELS[change.to] || change.to} <span class="muted">${when(change.at)}</span>${change.reason ? html` \u2014 ${change.reason}` : ""}</li>`)}</ol>
      </section>
    </div>`;
}

const OUTCOMES = {
  success: ["ok", "Thank you! Your payment is being confirmed; this page updates by itself."],
  cancel: ["", "Payment was not completed. Your order waits for payment until its reservation runs out; you can pay now or cancel it."],
};

/** The order page; returns the function that stops following it. */
export async function orderView(main, id, outcome) {
  const stored = session.orders[id];
  const token = stored?.token || null;
  let order;
  try {
    order = (await gql(ORDER, { id, token })).order;
  } catch (error) {
    show(main, html`<h1>Order</h1>${notice("error", errorText(error))}`, "Order");
    return null;
  }
  if (!order) {
    show(main, html`<h1>Order not found</h1><p>Sign in to see your orders, or open the order from the browser you bought with. <a href="#/account">Sign in</a></p>`, "Order not found");
    return null;
  }
  const banner = outcome && OUTCOMES[outcome] ? notice(...OUTCOMES[outcome]) : "";
  show(
    main,
    html`<h1>Order #${order.number}</h1>${banner}
    <p>Status: <span id="order-status" aria-live="polite">${statusBadge(order.status)}</span>
      <span class="live" id="live-state">Connecting for live updates…</span></p>
    <p class="muted">Placed ${when(order.createdAt)} \u00b7 confirmation to ${order.email}</p>
    <div id="order-errors"></div>
    <div id="order-details">${orderDetails(order, stored)}</div>`,
    `Order #${order.number}`,
  );

  const wire = () => {
    main.querySelector("#cancel-order")?.addEventListener("click", async (event) => {
      event.target.disabled = true;
      try {
        const { orderCancel } = await gql(CANCEL, { id, token });
        if (orderCancel.userErrors.length) {
          main.querySelector("#order-errors").innerHTML = String(notice("error", orderCancel.userErrors.map((e) => e.message).join(" ")));
          event.target.disabled = false;
        } else update(orderCancel.order);
      } catch (error) {
        main.querySelector("#order-errors").innerHTML = String(notice("error", errorText(error)));
        event.target.disabled = false;
      }
    });
  };
  const update = (fresh) => {
    const changed = fresh.status !== order.status;
    if (!main.contains(main.querySelector("#order-details"))) return; // the shopper has moved on
    order = fresh;
    main.querySelector("#order-status").innerHTML = String(statusBadge(order.status));
    main.querySelector("#order-details").innerHTML = String(orderDetails(order, stored));
    wire();
    if (changed) announce(`Order #${order.number} is now ${LABELS[order.status] || order.status}.`);
  };
  wire();

  const live = main.querySelector("#live-state");
  return subscribe(FOLLOW, { id, token }, {
    onEvent: async (data) => {
      // The event says what changed; the order's details are read anew over HTTP.
      const status = data.orderStatusChanged.to;
      if (status !== order.status) main.querySelector("#order-status").innerHTML = String(statusBadge(status));
      try {
        const fresh = (await gql(ORDER, { id, token })).order;
        if (fresh) update(fresh);
      } catch (error) {
        main.querySelector("#order-errors").innerHTML = String(notice("error", errorText(error)));
      }
    },
    onError: (error) => { live.textContent = `Live updates stopped: ${errorText(error)}`; },
    onConnection: (state) => {
      live.textContent = state === "connected" ? "Updates live." : "Reconnecting for live updates…";
    },
  });
}

/** Back from the payment page (?checkout=success|cancel[&order=N]): the order it was for. */
export async function orderAfterCheckout(number) {
  if (number) {
    const known = session.orderByNumber(number);
    if (known) return known;
    if (session.auth) {
      try {
        const { orders } = await gql(MY_ORDERS, { after: null });
        const match = orders.edges.find((edge) => String(edge.node.number) === String(number));
        if (match) return match.node.id;
      } catch {
        return null;
      }
    }
    return null;
  }
  return session.lastCheckout;
}

export async function myOrdersView(main, navigate, after = null) {
  if (!session.auth) {
    show(main, html`<h1>My orders</h1><p><a href="#/account">Sign in</a> to see your orders.</p>`, "My orders");
    return;
  }
  try {
    const { orders } = await gql(MY_ORDERS, { after });
    show(
      main,
      html`<h1>My orders</h1>
      ${orders.edges.length === 0 ? html`<p>No orders yet. <a href="#/">Browse the catalog</a></p>` : html`
      <table class="stack">
        <thead><tr><th>Order</th><th>Placed</th><th>Status</th><th class="num">Total</th></tr></thead>
        <tbody>${orders.edges.map(({ node }) => html`<tr>
          <td data-label="Order"><a href="#/orders/${encodeURIComponent(node.id)}">#${node.number}</a></td>
          <td data-label="Placed">${when(node.createdAt)}</td>
          <td data-label="Status">${statusBadge(node.status)}</td>
          <td data-label="Total" class="num">${money(node.total)}</td></tr>`)}</tbody>
      </table>`}
      ${orders.pageInfo.hasNextPage ? html`<p><button type="button" class="secondary" id="older">Older orders</button></p>` : ""}`,
      "My orders",
    );
    main.querySelector("#older")?.addEventListener("click", () => myOrdersView(main, navigate, orders.pageInfo.endCursor));
  } catch (error) {
    show(main, html`<h1>My orders</h1>${notice("error", errorText(error))}`, "My orders");
  }
}
