// The customer's account pages (issue 17): profile and e-mail, addresses, password, sessions, a copy
// of the data, deleting the account; and the pages the e-mailed links open (password reset,
// e-mail verification, e-mail change), which work signed out.
import { gql, resetSubscriptions, session } from "./api.js";
import { refreshCartCount } from "./cart.js";
import { addressText, announce, errorText, formValues, html, notice, show, userErrorText } from "./ui.js";

const ERRORS = "userErrors { field code message }";
const ADDRESS = "name line1 line2 city state postalCode country";
const ME = `{ me { email name emailVerified
  addresses { id isDefaultShipping isDefaultBilling address { ${ADDRESS} } }
  sessions { id createdAt lastUsedAt clientAddress userAgent current } } }`;

export const ACCOUNT_PAGES = [
  ["profile", "Profile"],
  ["addresses", "Addresses"],
  ["password", "Password"],
  ["sessions", "Sessions"],
  ["export", "My data"],
  ["delete", "Delete account"],
];

function tabs(current) {
  return html`<nav class="row account-tabs" aria-label="Account">${ACCOUNT_PAGES.map(
    ([page, label]) =>
      html`<a href="#/account/${page}" ${page === current ? html`aria-current="page"` : ""}>${label}</a>`,
  )}</nav>`;
}

function signOutHere(navigate, message) {
  session.auth = null;
  resetSubscriptions();
  refreshCartCount(0);
  document.getElementById("account-link").textContent = "Sign in";
  document.getElementById("orders-nav").hidden = true;
  announce(message);
  navigate("#/account");
}

/** Runs a form's mutation; shows its userErrors, or `done` after success. */
function onSubmit(form, out, run) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    out.innerHTML = "";
    try {
      const payload = await run(formValues(form));
      if (payload?.userErrors?.length) out.innerHTML = String(notice("error", userErrorText(payload.userErrors)));
    } catch (error) {
      out.innerHTML = String(notice("error", errorText(error)));
    } finally {
      button.disabled = false;
    }
  });
}

const field = (id, label, type = "text", attributes = "") =>
  html`<div class="field"><label for="${id}">${label}</label><input id="${id}" name="${id}" type="${type}" ${html([attributes])}></div>`;

// ---------------------------------------------------------------- signed in

export async function accountPage(main, page, params, navigate) {
  if (["reset", "verify", "email-confirm", "forgot"].includes(page)) return tokenPage(main, page, params, navigate);
  if (!session.auth) return navigate("#/account");
  const me = (await gql(ME)).me;
  if (!me) return signOutHere(navigate, "Your session ended. Please sign in again.");
  const render = { profile, addresses, password, sessions, export: dataExport, delete: deleteAccount }[page];
  if (!render) return navigate("#/account/profile");
  return render(main, me, navigate);
}

function profile(main, me, navigate) {
  show(
    main,
    html`<h1>Your profile</h1>${tabs("profile")}<div id="out"></div>
    <form id="name-form" class="panel">
      <h2>Name</h2>${field("name", "Name", "text", `autocomplete="name" required`)}
      <button type="submit">Save</button>
    </form>
    <div class="panel">
      <h2>E-mail</h2>
      <p><strong id="email">${me.email}</strong> —
        <span id="verified">${me.emailVerified ? "verified" : "not verified yet"}</span></p>
      ${me.emailVerified ? "" : html`<p><button type="button" id="resend" class="secondary">Send the confirmation link again</button></p>`}
      <form id="email-form">
        <h3>Change e-mail address</h3>
        ${field("newEmail", "New e-mail address", "email", `autocomplete="email" required`)}
        ${field("emailPassword", "Your password", "password", `autocomplete="current-password" required`)}
        <button type="submit">Send a confirmation link</button>
      </form>
    </div>`,
    "Profile",
  );
  const out = main.querySelector("#out");
  main.querySelector("#name").value = me.name;
  onSubmit(main.querySelector("#name-form"), out, async ({ name }) => {
    const payload = (await gql(`mutation($n: String) { accountUpdate(name: $n) { user { name } ${ERRORS} } }`, { n: name }))
      .accountUpdate;
    if (!payload.userErrors.length) {
      session.auth = { ...session.auth, name: payload.user.name };
      out.innerHTML = String(notice("success", "Your name was saved."));
    }
    return payload;
  });
  main.querySelector("#resend")?.addEventListener("click", async () => {
    const payload = (await gql(`mutation { accountEmailVerificationRequest { ok ${ERRORS} } }`)).accountEmailVerificationRequest;
    out.innerHTML = String(
      payload.ok ? notice("success", "We sent you a new confirmation link.") : notice("error", userErrorText(payload.userErrors)),
    );
  });
  onSubmit(main.querySelector("#email-form"), out, async ({ newEmail, emailPassword }) => {
    const payload = (
      await gql(`mutation($e: String!, $p: String!) { accountEmailChangeRequest(newEmail: $e, password: $p) { ok ${ERRORS} } }`, {
        e: newEmail,
        p: emailPassword,
      })
    ).accountEmailChangeRequest;
    if (payload.ok) out.innerHTML = String(notice("success", `Check ${newEmail}: the change happens when you follow the link we sent there.`));
    return payload;
  });
}

const ADDRESS_FIELDS = [
  ["name", "Name", `autocomplete="name" required`],
  ["line1", "Address", `autocomplete="address-line1" required`],
  ["line2", "Address line 2 (optional)", `autocomplete="address-line2"`],
  ["city", "City", `autocomplete="address-level2" required`],
  ["state", "State or region (optional)", `autocomplete="address-level1"`],
  ["postalCode", "Postal code", `autocomplete="postal-code" required`],
  ["country", "Country code (e.g. US)", `autocomplete="country" maxlength="2" required`],
];

function addresses(main, me, navigate) {
  show(
    main,
    html`<h1>Your addresses</h1>${tabs("addresses")}<div id="out"></div>
    <ul class="address-book">${me.addresses.map(
      (entry) => html`<li class="panel" data-id="${entry.id}">
        <p>${addressText(entry.address)}</p>
        <p class="muted">${[entry.isDefaultShipping && "Default shipping", entry.isDefaultBilling && "Default billing"].filter(Boolean).join(" · ")}</p>
        <p class="row">
          ${entry.isDefaultShipping ? "" : html`<button type="button" class="secondary" data-default="SHIPPING">Use for shipping</button>`}
          ${entry.isDefaultBilling ? "" : html`<button type="button" class="secondary" data-default="BILLING">Use for billing</button>`}
          <button type="button" class="secondary" data-delete>Delete</button>
        </p></li>`,
    )}</ul>
    ${me.addresses.length ? "" : html`<p class="muted">No saved addresses yet.</p>`}
    <form id="address-form" class="panel">
      <h2>Add an address</h2>
      ${ADDRESS_FIELDS.map(([name, label, attributes]) => field(`address-${name}`, label, "text", attributes))}
      <button type="submit">Save address</button>
    </form>`,
    "Addresses",
  );
  const out = main.querySelector("#out");
  const again = () => accountPage(main, "addresses", null, navigate);
  for (const item of main.querySelectorAll(".address-book li")) {
    const id = item.dataset.id;
    for (const button of item.querySelectorAll("[data-default]")) {
      button.addEventListener("click", async () => {
        await gql(`mutation($i: ID!, $t: AddressType!) { accountAddressSetDefault(id: $i, type: $t) { ${ERRORS} } }`, {
          i: id,
          t: button.dataset.default,
        });
        again();
      });
    }
    item.querySelector("[data-delete]").addEventListener("click", async () => {
      await gql(`mutation($i: ID!) { accountAddressDelete(id: $i) { ${ERRORS} } }`, { i: id });
      announce("Address deleted.");
      again();
    });
  }
  onSubmit(main.querySelector("#address-form"), out, async (values) => {
    const input = Object.fromEntries(ADDRESS_FIELDS.map(([name]) => [name, values[`address-${name}`] || null]));
    const payload = (
      await gql(`mutation($a: AddressInput!) { accountAddressCreate(input: $a) { address { id } ${ERRORS} } }`, { a: input })
    ).accountAddressCreate;
    if (!payload.userErrors.length) {
      announce("Address saved.");
      again();
    }
    return payload;
  });
}

function password(main, me, navigate) {
  show(
    main,
    html`<h1>Change your password</h1>${tabs("password")}<div id="out"></div>
    <form id="password-form" class="panel">
      ${field("currentPassword", "Current password", "password", `autocomplete="current-password" required`)}
      ${field("newPassword", "New password (10 characters or more)", "password", `autocomplete="new-password" minlength="10" required`)}
      <p class="muted">Every other device signed in to your account is signed out.</p>
      <button type="submit">Change password</button>
    </form>`,
    "Password",
  );
  const out = main.querySelector("#out");
  onSubmit(main.querySelector("#password-form"), out, async ({ currentPassword, newPassword }) => {
    const payload = (
      await gql(`mutation($c: String!, $n: String!) { accountPasswordChange(currentPassword: $c, newPassword: $n) { user { id } ${ERRORS} } }`, {
        c: currentPassword,
        n: newPassword,
      })
    ).accountPasswordChange;
    if (!payload.userErrors.length) {
      main.querySelector("#password-form").reset();
      out.innerHTML = String(notice("success", "Your password was changed; your other sessions were signed out."));
    }
    return payload;
  });
}

const when = (value) => (value ? new Date(value).toLocaleString() : "—");

function sessions(main, me, navigate) {
  show(
    main,
    html`<h1>Where you are signed in</h1>${tabs("sessions")}<div id="out"></div>
    <table class="sessions"><thead><tr><th>Signed in</th><th>Last used</th><th>From</th><th>Browser or app</th><th></th></tr></thead>
    <tbody>${me.sessions.map(
      (s) => html`<tr data-id="${s.id}"><td>${when(s.createdAt)}</td><td>${when(s.lastUsedAt)}</td>
        <td>${s.clientAddress || "—"}</td><td>${s.userAgent || "—"}</td>
        <td>${s.current ? html`<strong>This device</strong>` : html`<button type="button" class="secondary" data-revoke>Sign out</button>`}</td></tr>`,
    )}</tbody></table>
    <p class="row"><button type="button" id="revoke-others">Sign out everywhere else</button>
      <button type="button" id="revoke-all" class="secondary">Sign out everywhere</button></p>`,
    "Sessions",
  );
  const again = () => accountPage(main, "sessions", null, navigate);
  for (const row of main.querySelectorAll("tr[data-id]")) {
    row.querySelector("[data-revoke]")?.addEventListener("click", async () => {
      await gql(`mutation($i: ID!) { accountSessionRevoke(id: $i) { ok ${ERRORS} } }`, { i: row.dataset.id });
      announce("Signed out that session.");
      again();
    });
  }
  main.querySelector("#revoke-others").addEventListener("click", async () => {
    await gql(`mutation { accountSessionsRevokeAll(keepCurrent: true) { ok ${ERRORS} } }`);
    announce("Signed out everywhere else.");
    again();
  });
  main.querySelector("#revoke-all").addEventListener("click", async () => {
    await gql(`mutation { accountSessionsRevokeAll(keepCurrent: false) { ok ${ERRORS} } }`);
    signOutHere(navigate, "Signed out everywhere.");
  });
}

async function dataExport(main, me, navigate) {
  show(
    main,
    html`<h1>Your data</h1>${tabs("export")}
    <p>Everything we hold about you, as one JSON document.</p>
    <p class="row"><button type="button" id="download">Download my data</button></p>
    <pre id="export" class="panel" hidden></pre>`,
    "My data",
  );
  main.querySelector("#download").addEventListener("click", async () => {
    const document_ = (await gql("{ myDataExport }")).myDataExport;
    const text = JSON.stringify(document_, null, 2);
    const pre = main.querySelector("#export");
    pre.textContent = text;
    pre.hidden = false;
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([text], { type: "application/json" }));
    link.download = "my-data.json";
    link.click();
  });
}

function deleteAccount(main, me, navigate) {
  show(
    main,
    html`<h1>Delete your account</h1>${tabs("delete")}<div id="out"></div>
    <form id="delete-form" class="panel">
      <p>Your name, e-mail address, saved addresses and sessions are erased. Orders are kept for our
        accounts, without your personal data. This cannot be undone.</p>
      ${field("deletePassword", "Your password", "password", `autocomplete="current-password" required`)}
      <button type="submit">Delete my account</button>
    </form>`,
    "Delete account",
  );
  const out = main.querySelector("#out");
  onSubmit(main.querySelector("#delete-form"), out, async ({ deletePassword }) => {
    const payload = (await gql(`mutation($p: String!) { accountDelete(password: $p) { ok ${ERRORS} } }`, { p: deletePassword }))
      .accountDelete;
    if (payload.ok) signOutHere(navigate, "Your account was deleted.");
    return payload;
  });
}

// ---------------------------------------------------------------- from an e-mailed link

function tokenPage(main, page, params, navigate) {
  const token = params?.get("token") || "";
  if (page === "forgot") {
    show(
      main,
      html`<h1>Forgot your password?</h1><div id="out"></div>
      <form id="forgot-form" class="panel">${field("forgotEmail", "E-mail", "email", `autocomplete="email" required`)}
        <button type="submit">Send me a link</button></form>`,
      "Forgot password",
    );
    const out = main.querySelector("#out");
    onSubmit(main.querySelector("#forgot-form"), out, async ({ forgotEmail }) => {
      const payload = (await gql(`mutation($e: String!) { accountPasswordResetRequest(email: $e) { ok ${ERRORS} } }`, { e: forgotEmail }))
        .accountPasswordResetRequest;
      if (payload.ok) out.innerHTML = String(notice("success", "If this address has an account, we sent it a link to choose a new password."));
      return payload;
    });
    return;
  }
  if (page === "reset") {
    show(
      main,
      html`<h1>Choose a new password</h1><div id="out"></div>
      <form id="reset-form" class="panel">${field("resetPassword", "New password (10 characters or more)", "password", `autocomplete="new-password" minlength="10" required`)}
        <button type="submit">Set password and sign in</button></form>`,
      "New password",
    );
    const out = main.querySelector("#out");
    onSubmit(main.querySelector("#reset-form"), out, async ({ resetPassword }) => {
      const payload = (
        await gql(
          `mutation($t: String!, $p: String!) { accountPasswordReset(token: $t, newPassword: $p) { accessToken refreshToken user { email name } ${ERRORS} } }`,
          { t: token, p: resetPassword },
        )
      ).accountPasswordReset;
      if (!payload.userErrors.length) {
        session.auth = { accessToken: payload.accessToken, refreshToken: payload.refreshToken, email: payload.user.email, name: payload.user.name };
        resetSubscriptions();
        document.getElementById("account-link").textContent = "Account";
        document.getElementById("orders-nav").hidden = false;
        announce("Your password was changed and you are signed in.");
        navigate("#/account/profile");
      }
      return payload;
    });
    return;
  }
  const [mutation, name, success] =
    page === "verify"
      ? ["accountEmailVerify", "Confirming your e-mail address", "Your e-mail address is confirmed."]
      : ["accountEmailChangeConfirm", "Confirming your new e-mail address", "Your e-mail address was changed."];
  show(main, html`<h1>${name}</h1><div id="out"></div>`, name);
  const out = main.querySelector("#out");
  gql(`mutation($t: String!) { ${mutation}(token: $t) { user { email } ${ERRORS} } }`, { t: token })
    .then((data) => {
      const payload = data[mutation];
      if (payload.userErrors.length) out.innerHTML = String(notice("error", userErrorText(payload.userErrors)));
      else {
        if (session.auth && page === "email-confirm") session.auth = { ...session.auth, email: payload.user.email };
        out.innerHTML = String(html`${notice("success", success)}<p><a href="#/account">Your account</a></p>`);
      }
    })
    .catch((error) => {
      out.innerHTML = String(notice("error", errorText(error)));
    });
}
