// flowd's hosted pages in a real browser: Debian's Chromium driven by playwright-core.
// Started by bins/flowd/tests/it/browser.rs against a real flowd; reads from the environment:
//   FLOWD_BASE        the server's base URL (http://127.0.0.1:PORT)
//   FLOWD_OUTBOX      the server's mail directory (recovery codes are read from it)
//   FLOWD_SHOTS       where the screenshot of each page state goes
//   FLOWD_CHROMIUM    the browser (default /usr/bin/chromium)
//   FLOWD_TOKEN       the admin token (the flows of fixtures/ are installed with it)
//   FLOWD_OIDC_ISSUER, FLOWD_OIDC_CLIENT_ID, FLOWD_OIDC_CLIENT_SECRET
//                     an OpenID provider (tests/oidc/provider.mjs) with account `sam` and this
//                     client, whose redirect URIs include {FLOWD_BASE}/source/oauth/callback/google/;
//                     without an issuer the social login (section 12) is left out
// Every page state is checked with axe-core (no serious or critical violation) and saved as a
// screenshot; a Content-Security-Policy violation or a page error fails the run.
import { createHmac } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { chromium } from "playwright-core";

const base = process.env.FLOWD_BASE;
const outbox = process.env.FLOWD_OUTBOX;
const shots = process.env.FLOWD_SHOTS;
const token = process.env.FLOWD_TOKEN;
if (!base || !outbox || !shots || !token) throw new Error("FLOWD_BASE, FLOWD_OUTBOX, FLOWD_SHOTS and FLOWD_TOKEN must be set");
mkdirSync(shots, { recursive: true });
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

const EMAIL = "browser@example.com";
const PASSWORD = "correct horse battery";
const NEW_PASSWORD = "a brand new passphrase";

function check(condition, message) {
  if (!condition) throw new Error(message);
}

/** The page's problems (CSP violations, script errors) collected while it runs. */
function watch(page, problems) {
  page.on("console", (message) => {
    if (message.type() === "error" && /Content Security Policy|Refused to/i.test(message.text())) {
      problems.push("CSP: " + message.text());
    }
  });
  page.on("pageerror", (error) => problems.push("script error: " + error.message));
}

/** Screenshot and accessibility check of the page's current state. */
async function snap(page, name) {
  await page.screenshot({ path: path.join(shots, name + ".png"), fullPage: true });
  // CDP evaluation is not subject to the page's CSP, so axe needs no inline script.
  await page.evaluate(axeSource);
  const result = await page.evaluate(() =>
    window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } }),
  );
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  check(bad.length === 0, `${name}: accessibility violations: ` + JSON.stringify(bad.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target) }))));
  console.log(`ok ${name} (axe: ${result.violations.length} minor or moderate, ${result.passes.length} rules passed)`);
}

/** The RFC 6238 code of a base32 secret at `time` (ms). */
function totp(secret, time = Date.now(), digits = 6, period = 30) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of secret.replace(/=+$/, "").toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(time / 1000 / period)));
  const mac = createHmac("sha1", key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 10 ** digits;
  return String(value).padStart(digits, "0");
}

/** The code of the newest mail to `to` in the outbox. */
function mailedCode(to) {
  const mails = readdirSync(outbox).sort().map((name) => readFileSync(path.join(outbox, name), "utf8")).filter((text) => text.includes(to));
  check(mails.length > 0, "no mail to " + to);
  const match = /Your code is: (\d{6})/.exec(mails[mails.length - 1]);
  check(match, "no code in the mail to " + to);
  return match[1];
}

/** An admin API call (`route` under /api/admin) with the admin token; the JSON answer. */
async function admin(method, route, body) {
  const response = await fetch(base + "/api/admin" + route, {
    method,
    headers: { Authorization: "Bearer " + token, "Content-Type": "application/json" },
    body: body && JSON.stringify(body),
  });
  const answer = await response.json();
  check(response.ok, `${method} ${route}: ${response.status} ${JSON.stringify(answer)}`);
  return answer;
}

/** Creates, compiles and activates a flow over the admin API: the one of
 *  `fixtures/<flow>.json`, or `flow` itself when it is a flow definition. */
async function install(flow) {
  if (typeof flow === "string") flow = JSON.parse(readFileSync(new URL(`fixtures/${flow}.json`, import.meta.url), "utf8"));
  const { id } = await admin("POST", "/flows", flow);
  await admin("POST", `/flows/${id}/compile`);
  await admin("POST", `/flows/${id}/activate`);
}

async function expectAutocomplete(page, name, value) {
  const actual = await page.locator(`#stage [name="${name}"]:not([hidden])`).getAttribute("autocomplete");
  check(actual === value, `${name}: autocomplete ${actual}, expected ${value}`);
}

/** Fills a new password into the stage, and its confirmation when the flow asks for one. */
async function fillNewPassword(page, password) {
  await page.locator('#stage [name="password"]').fill(password);
  if (await page.locator('#stage [name="password_confirm"]').count()) {
    await expectAutocomplete(page, "password_confirm", "new-password");
    await page.locator('#stage [name="password_confirm"]').fill(password);
  }
}

async function submitStage(page) {
  await page.locator("#stage button[type=submit]").click();
}

/** Waits until the stage shows a form whose fields include `name`. */
async function waitField(page, name) {
  await page.locator(`#stage [name="${name}"]:not([hidden])`).first().waitFor();
}

/** Registers `email` with the password on the registration page at `url` (no profile). */
async function registerAt(page, url, email) {
  await page.goto(url);
  await waitField(page, "identifier");
  await page.locator('#stage [name="identifier"]').fill(email);
  await submitStage(page);
  await waitField(page, "password");
  await fillNewPassword(page, PASSWORD);
  await submitStage(page);
  await waitField(page, "given_name");
  await submitStage(page);
}

const browser = await chromium.launch({
  executablePath: process.env.FLOWD_CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const problems = [];
async function newPage(options = {}) {
  const context = await browser.newContext({ viewport: { width: 360, height: 740 }, ...options });
  const page = await context.newPage();
  watch(page, problems);
  return page;
}

try {
  // 1. A new visitor at / lands on the login page; it works in German and in dark mode too.
  let page = await newPage({ locale: "de-DE", colorScheme: "dark" });
  await page.goto(base + "/");
  await waitField(page, "uid_field");
  check((await page.locator("#stage button[type=submit]").textContent()) === "Anmelden", "German button text");
  await snap(page, "login-de-dark");
  await page.context().close();

  page = await newPage();
  const loaded = [];
  page.on("requestfinished", (request) => loaded.push(request));
  await page.goto(base + "/");
  await waitField(page, "uid_field");
  await page.waitForLoadState("networkidle");
  // The login page's weight: every request of a first visit, headers and bodies as sent.
  let bytes = 0;
  for (const request of loaded) {
    const sizes = await request.sizes();
    bytes += sizes.requestHeadersSize + sizes.requestBodySize + sizes.responseHeadersSize + sizes.responseBodySize;
  }
  console.log(`page weight of the login page: ${bytes} bytes in ${loaded.length} requests`);
  check(bytes <= 60 * 1024, "the login page stays under 60 KB");
  page.removeAllListeners("requestfinished");
  check(new URL(page.url()).pathname === "/if/flow/default-login/", "at the login page: " + page.url());
  check((await page.title()) === "Default Login Flow", "title " + (await page.title()));
  // The default login offers the site's passkeys in the identifier's autofill.
  await expectAutocomplete(page, "uid_field", "username webauthn");
  await snap(page, "login");

  // 2. Registration from the login page's link, keyboard only.
  await page.locator("#enroll-link").focus();
  await page.keyboard.press("Enter");
  await waitField(page, "identifier");
  await snap(page, "register-identifier");
  await page.keyboard.type(EMAIL);
  await page.keyboard.press("Enter");
  await waitField(page, "password");
  await expectAutocomplete(page, "password", "new-password");
  await fillNewPassword(page, PASSWORD);
  await snap(page, "register-password");
  await submitStage(page);
  await waitField(page, "given_name");
  await page.locator('#stage [name="given_name"]').fill("Ada");
  await page.locator('#stage [name="family_name"]').fill("Lovelace");
  await snap(page, "register-profile");
  await submitStage(page);
  await page.waitForURL(base + "/if/user/");
  await page.locator("#signed-in-as").waitFor();
  check((await page.locator("#signed-in-as strong").textContent()) === EMAIL, "account shows the user");
  await snap(page, "account");

  // 3. Sign out, then a wrong password shows its error beside the field.
  await page.locator("#sign-out").click();
  await page.waitForURL(base + "/if/flow/default-login/");
  await waitField(page, "uid_field");
  await page.locator('#stage [name="uid_field"]').fill(EMAIL);
  await submitStage(page);
  await waitField(page, "password");
  await expectAutocomplete(page, "password", "current-password");
  await page.locator('#stage [name="password"]').fill("not the password");
  await submitStage(page);
  await page.locator('#stage [name="password"][aria-invalid="true"]').waitFor();
  const describedBy = await page.locator('#stage [name="password"]').getAttribute("aria-describedby");
  const fieldError = page.locator("#" + describedBy.split(" ")[0]);
  check((await fieldError.getAttribute("role")) === "alert", "the field's error is announced");
  check((await fieldError.textContent()).trim().length > 0, "the field's error is shown beside it");
  await snap(page, "wrong-password");

  // 4. The right password signs in.
  await waitField(page, "password");
  await page.locator('#stage [name="password"]').fill(PASSWORD);
  await submitStage(page);
  await page.waitForURL(base + "/if/user/");

  // 5. Enrol an authenticator app: read the key the page shows, answer with a computed code.
  await page.locator("#mfa-setup").click();
  // A passkey is offered first; this page is not on the passkeys' site (localhost), so the
  // person takes the other way in: an authenticator app.
  await page.locator("#passkey-run").waitFor();
  await snap(page, "passkey-setup");
  await page.locator("#passkey-fallback").click();
  await page.locator("#totp-secret").waitFor();
  await page.locator("img.qr:not([hidden])").waitFor();
  const secret = (await page.locator("#totp-secret").textContent()).trim();
  check(/^[A-Z2-7]{16,}$/.test(secret), "a base32 key is shown: " + secret);
  const qrSrc = await page.locator("img.qr").getAttribute("src");
  check(qrSrc.startsWith("blob:"), "the QR code is drawn here, not fetched with the key: " + qrSrc);
  await expectAutocomplete(page, "code", "one-time-code");
  await snap(page, "totp-setup");
  await page.locator('#stage [name="code"]').fill(totp(secret));
  const enrolledAt = Date.now();
  await submitStage(page);
  await page.waitForURL(base + "/if/user/");
  await page.locator("#signed-in-as").waitFor();

  // 6. Sign in again: password, then the app's code (of a later period than the one used).
  await page.locator("#sign-out").click();
  await waitField(page, "uid_field");
  await page.locator('#stage [name="uid_field"]').fill(EMAIL);
  await submitStage(page);
  await waitField(page, "password");
  await page.locator('#stage [name="password"]').fill(PASSWORD);
  await submitStage(page);
  await waitField(page, "code");
  await snap(page, "totp-validate");
  const nextPeriod = (Math.floor(enrolledAt / 30000) + 1) * 30000;
  if (Date.now() < nextPeriod) await page.waitForTimeout(nextPeriod - Date.now() + 200);
  await page.locator('#stage [name="code"]').fill(totp(secret));
  await submitStage(page);
  await page.waitForURL(base + "/if/user/");
  await page.locator("#signed-in-as").waitFor();
  await page.context().close();

  // 7. Recover the password with the mailed code, then sign in with the new one.
  page = await newPage();
  await page.goto(base + "/");
  await page.locator("#recovery-link").click();
  await waitField(page, "uid_field");
  await snap(page, "recovery-identifier");
  await page.locator('#stage [name="uid_field"]').fill(EMAIL);
  await submitStage(page);
  await waitField(page, "code");
  await snap(page, "recovery-code");
  await page.locator('#stage [name="code"]').fill(mailedCode(EMAIL));
  await submitStage(page);
  await waitField(page, "password");
  await expectAutocomplete(page, "password", "new-password");
  await fillNewPassword(page, NEW_PASSWORD);
  await snap(page, "recovery-password");
  await submitStage(page);
  await page.waitForURL((url) => url.origin === base && url.pathname !== "/if/flow/default-password-recovery/");
  console.log("ok recovery ended at " + page.url());
  await page.context().close();

  page = await newPage();
  await page.goto(base + "/if/flow/default-login/");
  await waitField(page, "uid_field");
  await page.locator('#stage [name="uid_field"]').fill(EMAIL);
  await submitStage(page);
  await waitField(page, "password");
  await page.locator('#stage [name="password"]').fill(NEW_PASSWORD);
  await submitStage(page);
  await waitField(page, "code");
  console.log("ok the new password is accepted (the app's code is asked next)");
  await page.context().close();

  // 8. A hostile ?next= never takes the browser off-site.
  page = await newPage();
  await registerAt(page, base + "/if/flow/default-registration/?next=" + encodeURIComponent("https://evil.example/phish"), "second@example.com");
  await page.waitForURL(base + "/if/user/");
  check(new URL(page.url()).origin === base, "stayed on " + base + ", at " + page.url());
  console.log("ok a hostile next= stays on site: " + page.url());
  await page.context().close();

  // 9. Every prompt field type, required-field errors, then access denied and starting over.
  await install("all-fields");
  page = await newPage();
  await page.goto(base + "/if/flow/all-fields/");
  await waitField(page, "nickname");
  const types = {};
  for (const name of ["nickname", "contact", "age", "phone", "birthday", "terms", "colour"]) {
    const input = page.locator(`#stage [name="${name}"]`);
    types[name] = (await input.evaluate((node) => node.tagName.toLowerCase())) + ":" + ((await input.getAttribute("type")) || "");
  }
  check(JSON.stringify(types) === JSON.stringify({
    nickname: "input:text", contact: "input:email", age: "input:number", phone: "input:text",
    birthday: "input:date", terms: "input:checkbox", colour: "select:",
  }), "prompt field types: " + JSON.stringify(types));
  await expectAutocomplete(page, "contact", "email");
  check((await page.locator('#stage [name="nickname"]').getAttribute("placeholder")) === "Ace", "placeholder");
  check((await page.locator('#stage [name="colour"] option').count()) === 3, "dropdown choices");
  await snap(page, "prompt-all-fields");
  await submitStage(page);
  await page.locator('#stage [name="nickname"][aria-invalid="true"]').waitFor();
  await snap(page, "prompt-required");
  await page.locator('#stage [name="nickname"]').fill("Ace");
  await page.locator('#stage [name="contact"]').fill("ace@example.com");
  await page.locator('#stage [name="age"]').fill("36");
  await page.locator('#stage [name="birthday"]').fill("1990-05-17");
  await page.locator('#stage [name="terms"]').check();
  await page.locator('#stage [name="colour"]').selectOption("green");
  await submitStage(page);
  await page.locator("#denied-message").waitFor();
  check((await page.locator("#denied-message").textContent()) === "Registrations are closed.", "the failure's message");
  await snap(page, "access-denied");
  await page.locator("#start-over").click();
  await waitField(page, "nickname");
  await page.context().close();

  // 10. A login flow that reaches its success without verifying anyone (a text message to
  // nobody, then success) ends in access denied, with the server's reason.
  await install({
    name: "sms-step",
    display_name: "SMS Step",
    type: "login",
    graph: {
      nodes: [
        { id: "start", type: "start" },
        { id: "sms", type: "send_sms", config: { template: "otp" } },
        { id: "success", type: "success" },
      ],
      edges: [
        { source: "start", target: "sms" },
        { source: "sms", target: "success" },
      ],
    },
  });
  page = await newPage();
  await page.goto(base + "/if/flow/sms-step/");
  await page.locator("#denied-message").waitFor();
  const unsupported = await page.locator("#denied-message").textContent();
  check(/without verifying who you are/.test(unsupported), "the reason is shown: " + unsupported);
  await snap(page, "not-authenticated");
  await page.context().close();

  // 11. Passkeys, on the passkeys' site (http://localhost), with Chromium's virtual
  // authenticator (CTAP2, built in, resident keys, user verification).
  const local = base.replace("127.0.0.1", "localhost");
  const PASSKEY_EMAIL = "passkey@example.com";
  await install("passkey-only");
  page = await newPage();
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  await registerAt(page, local + "/if/flow/default-registration/", PASSKEY_EMAIL);
  await page.waitForURL(local + "/if/user/");
  // Signed in with the password, the MFA setup creates a passkey.
  await page.locator("#sign-out").click();
  await waitField(page, "uid_field");
  await page.locator('#stage [name="uid_field"]').fill(PASSKEY_EMAIL);
  await submitStage(page);
  await waitField(page, "password");
  await page.locator('#stage [name="password"]').fill(PASSWORD);
  await submitStage(page);
  await page.waitForURL(local + "/if/user/");
  await page.locator("#mfa-setup").click();
  await page.locator("#passkey-run").waitFor();
  await page.locator("#passkey-run").click();
  await page.waitForURL(local + "/if/user/");
  const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  check(credentials.length === 1 && credentials[0].isResidentCredential, "one discoverable passkey: " + JSON.stringify(credentials.map((c) => c.isResidentCredential)));
  console.log("ok a passkey was created on the account page");
  // The login page offers it in the identifier's autofill; the virtual authenticator takes the
  // offer at once, and the passkey signs in: no identifier, no password.
  await page.locator("#sign-out").click();
  await page.waitForURL(local + "/if/flow/default-login/");
  await page.waitForURL(local + "/if/user/");
  await page.locator("#signed-in-as").waitFor();
  check((await page.locator("#signed-in-as strong").textContent()) === PASSKEY_EMAIL, "autofill signed in the passkey's owner");
  console.log("ok the identifier's autofill signs in with the passkey");
  // The password, then the passkey as the second factor (no automatic presence while the
  // password is typed, so that the autofill waits).
  await cdp.send("WebAuthn.setAutomaticPresenceSimulation", { authenticatorId, enabled: false });
  await page.locator("#sign-out").click();
  await waitField(page, "uid_field");
  await page.locator('#stage [name="uid_field"]').fill(PASSKEY_EMAIL);
  await submitStage(page);
  await waitField(page, "password");
  await page.locator('#stage [name="password"]').fill(PASSWORD);
  await submitStage(page);
  await page.locator("#passkey-run").waitFor();
  check(await page.locator("#passkey-fallback").isVisible(), "the other way in is offered");
  await snap(page, "passkey-validate");
  await cdp.send("WebAuthn.setAutomaticPresenceSimulation", { authenticatorId, enabled: true });
  await page.locator("#passkey-run").click();
  await page.waitForURL(local + "/if/user/");
  await page.locator("#signed-in-as").waitFor();
  console.log("ok the passkey is the second factor after the password");
  // No identifier at all: the passkey finds its account (a new session: no cookies).
  await page.context().clearCookies();
  await page.goto(local + "/if/flow/passkey-only/");
  await page.locator("#passkey-run").waitFor();
  await snap(page, "passkey-only");
  await page.locator("#passkey-run").click();
  await page.waitForURL(local + "/if/user/");
  await page.locator("#signed-in-as").waitFor();
  check((await page.locator("#signed-in-as strong").textContent()) === PASSKEY_EMAIL, "signed in as the passkey's owner");
  console.log("ok a passkey signs in without an identifier");
  await page.context().close();

  // 12. Social login: seed 002's `social-login` flow (google and github) at a real OpenID
  // provider, through its login page and back through the server's callback: first with
  // google alone (straight to the provider), then with both (the choice).
  const issuer = process.env.FLOWD_OIDC_ISSUER;
  if (!issuer) {
    console.log("skipped social login: no FLOWD_OIDC_ISSUER");
  } else {
    const SOCIAL_EMAIL = "sam@example.com";
    const flowPage = base + "/if/flow/social-login/";
    const me = async (page) => {
      const response = await page.request.get(base + "/api/v3/core/users/me/");
      return response.ok() ? (await response.json()).user.username : null;
    };
    const atProvider = (page) => page.waitForURL((url) => url.origin === issuer && url.pathname.startsWith("/interaction/"));
    /** Picks Google on the flow page, signs `login` in at the provider, waits to be back. */
    const signInWithGoogle = async (page, login) => {
      await page.goto(flowPage);
      await page.locator("#source-0").click();
      await atProvider(page);
      await page.locator('[name="login"]').fill(login);
      await page.locator("#sign-in").click();
      await page.waitForURL((url) => url.origin === base && !url.pathname.startsWith("/source/") && url.pathname !== "/if/flow/social-login/");
    };
    await admin("PUT", "/identity-providers/google", {
      client_id: process.env.FLOWD_OIDC_CLIENT_ID,
      client_secret: process.env.FLOWD_OIDC_CLIENT_SECRET,
      issuer,
    });
    await install(JSON.parse(readFileSync(new URL("../../../../fixtures/seed-002/create-flow-request.json", import.meta.url), "utf8")));

    // Google alone: the flow page goes straight to the provider's login page.
    page = await newPage();
    await page.goto(flowPage);
    await atProvider(page);
    await page.locator('[name="login"]').fill("sam");
    await page.locator("#sign-in").click();
    await page.waitForURL((url) => url.origin === base && !url.pathname.startsWith("/source/") && url.pathname !== "/if/flow/social-login/");
    check((await me(page)) === SOCIAL_EMAIL, "signed in through the only provider as " + SOCIAL_EMAIL);
    console.log("ok social login with one provider goes straight to it");
    await page.context().close();

    // GitHub is offered, never followed (its preset points at github.com).
    await admin("PUT", "/identity-providers/github", {
      client_id: "flowd-browser-github",
      client_secret: "flowd-browser-github-secret",
    });

    // The page offers both providers; Google's login page signs Sam in again.
    page = await newPage();
    await page.goto(flowPage);
    await page.locator("#source-1").waitFor();
    const names = await page.locator("#stage a.button.source").allTextContents();
    check(names.length === 2 && /Google/.test(names[0]) && /GitHub/.test(names[1]), "the sources: " + JSON.stringify(names));
    await snap(page, "social-choice");
    await signInWithGoogle(page, "sam");
    check((await me(page)) === SOCIAL_EMAIL, "signed in as " + SOCIAL_EMAIL + " at " + page.url());
    console.log("ok social login at the provider ended at " + page.url());
    await page.context().close();

    // Cancelled at the provider: back on the flow page, with the reason and the choice again.
    page = await newPage();
    await page.goto(flowPage);
    await page.locator("#source-0").click();
    await atProvider(page);
    await page.locator("#abort").click();
    await page.waitForURL(flowPage);
    await page.locator("#announce", { hasText: "The sign-in was cancelled." }).waitFor();
    await page.locator("#source-0").waitFor();
    check((await me(page)) === null, "not signed in after the cancel");
    await snap(page, "social-cancelled");
    await page.context().close();

    // Signing in again finds the linked account: still one.
    page = await newPage();
    await signInWithGoogle(page, "sam");
    check((await me(page)) === SOCIAL_EMAIL, "signed in again as " + SOCIAL_EMAIL);
    const users = await admin("GET", "/users?identifier=" + encodeURIComponent(SOCIAL_EMAIL));
    check(users.items.filter((user) => user.identifier === SOCIAL_EMAIL).length === 1, "one account: " + JSON.stringify(users.items));
    console.log("ok social login again signs in the linked account");
    await page.context().close();
  }

  check(problems.length === 0, "page problems:\n" + problems.join("\n"));
  console.log("ok all page states");
} finally {
  await browser.close();
}
