// Register and sign in (an anonymous cart is merged into the customer's), and sign out.
import { gql, resetSubscriptions, session } from "./api.js";
import { announce, errorText, formValues, html, notice, show, userErrorText } from "./ui.js";
import { refreshCartCount } from "./cart.js";
import { ACCOUNT_PAGES } from "./account-pages.js";

const AUTH_FIELDS = "accessToken refreshToken user { email name } cart { totalQuantity } userErrors { field code message }";

const LOGIN = `
mutation Login($email: String!, $password: String!, $cartToken: String) {
  login(email: $email, password: $password, cartToken: $cartToken) { ${AUTH_FIELDS} }
}`;

const REGISTER = `
mutation Register($email: String!, $password: String!, $name: String!, $cartToken: String) {
  register(email: $email, password: $password, name: $name, cartToken: $cartToken) { ${AUTH_FIELDS} }
}`;

const LOGOUT = "mutation($t: String!) { logout(refreshToken: $t) { ok } }";

export function updateAccountNav() {
  const auth = session.auth;
  document.getElementById("account-link").textContent = auth ? "Account" : "Sign in";
  document.getElementById("orders-nav").hidden = !auth;
}

async function signIn(mutation, variables, name, navigate, errors) {
  const payload = (await gql(mutation, { ...variables, cartToken: session.cartToken }))[name];
  if (payload.userErrors.length) {
    errors.innerHTML = String(notice("error", userErrorText(payload.userErrors)));
    return;
  }
  session.auth = {
    accessToken: payload.accessToken,
    refreshToken: payload.refreshToken,
    email: payload.user.email,
    name: payload.user.name,
  };
  session.cartToken = null; // merged into the customer's cart
  resetSubscriptions();
  updateAccountNav();
  const count = payload.cart?.totalQuantity ?? 0;
  refreshCartCount(count);
  announce(`Signed in as ${payload.user.email}.`);
  navigate(count ? "#/cart" : "#/");
}

export function accountView(main, navigate) {
  const auth = session.auth;
  if (auth) {
    show(
      main,
      html`<h1>Your account</h1>
      <p>Signed in as <strong id="signed-in-as">${auth.email}</strong>${auth.name ? ` (${auth.name})` : ""}.</p>
      <nav class="row account-tabs" aria-label="Account">${ACCOUNT_PAGES.map(
        ([page, label]) => html`<a href="#/account/${page}">${label}</a>`,
      )}</nav>
      <p class="row"><a class="button secondary" href="#/orders">My orders</a>
        <button type="button" id="sign-out">Sign out</button></p>`,
      "Account",
    );
    main.querySelector("#sign-out").addEventListener("click", async () => {
      try {
        await gql(LOGOUT, { t: auth.refreshToken });
      } catch {
        // signed out here whatever the server says
      }
      session.auth = null;
      resetSubscriptions();
      updateAccountNav();
      refreshCartCount(0);
      announce("Signed out.");
      navigate("#/");
    });
    return;
  }
  show(
    main,
    html`<h1>Sign in or create an account</h1>
    <div id="account-errors"></div>
    <div class="two">
      <form id="login-form" class="panel" novalidate>
        <h2>Sign in</h2>
        <div class="field"><label for="login-email">E-mail</label><input id="login-email" name="email" type="email" autocomplete="username" required></div>
        <div class="field"><label for="login-password">Password</label><input id="login-password" name="password" type="password" autocomplete="current-password" required></div>
        <button type="submit">Sign in</button>
        <p><a href="#/account/forgot">Forgot your password?</a></p>
      </form>
      <form id="register-form" class="panel" novalidate>
        <h2>Create an account</h2>
        <div class="field"><label for="register-name">Name</label><input id="register-name" name="name" autocomplete="name" required></div>
        <div class="field"><label for="register-email">E-mail</label><input id="register-email" name="email" type="email" autocomplete="email" required></div>
        <div class="field"><label for="register-password">Password (10 characters or more)</label><input id="register-password" name="password" type="password" autocomplete="new-password" minlength="10" required></div>
        <button type="submit">Create account</button>
      </form>
    </div>
    ${session.cartToken ? html`<p class="muted">The items in your cart will be added to your account's cart.</p>` : ""}`,
    "Sign in",
  );
  const errors = main.querySelector("#account-errors");
  const handle = (form, run) =>
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = form.querySelector("button");
      button.disabled = true;
      errors.innerHTML = "";
      try {
        await run(formValues(form));
      } catch (error) {
        errors.innerHTML = String(notice("error", errorText(error)));
      } finally {
        button.disabled = false;
      }
    });
  handle(main.querySelector("#login-form"), (values) =>
    signIn(LOGIN, { email: values.email, password: values.password }, "login", navigate, errors),
  );
  handle(main.querySelector("#register-form"), (values) =>
    signIn(REGISTER, { email: values.email, password: values.password, name: values.name }, "register", navigate, errors),
  );
}
