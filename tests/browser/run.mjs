// Browser tests of the web console in real Chromium (Debian's package), driven by
// Playwright, against the workers tests/run-e2e started (FIRMAMENT_URL). Every
// screen is also checked by axe-core (no serious or critical violation) and
// photographed into target/screenshots/ for review.
//
// Usage: node tests/browser/run.mjs   (prints a cargo-style "test result:" line)
import { chromium } from "playwright-core";
import { createHmac } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const base = process.env.FIRMAMENT_URL;
if (!base) throw new Error("FIRMAMENT_URL is not set: run through tests/run-e2e");
const shots = join(root, "target", "screenshots");
mkdirSync(shots, { recursive: true });
const axeSource = readFileSync(join(root, "node_modules", "axe-core", "axe.min.js"), "utf8");
const PASSWORD = "a long owner pass phrase 2026";

let counter = 0;
const unique = (prefix) => `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}`;
let ipCounter = 1;
const clientIp = () => `10.77.${Math.floor(ipCounter / 250)}.${(ipCounter++ % 250) + 1}`;

async function api(method, path, body, token) {
  const headers = { "content-type": "application/json", "cf-connecting-ip": clientIp() };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(base + path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function provision() {
  const slug = unique("browser");
  const email = `owner@${slug}.test`;
  const answer = await api("POST", "/v1/firms", {
    name: `Browser ${slug}`, slug, timezone: "Europe/Paris", currency: "EUR",
    owner: { email, password: PASSWORD, name: "Browser Owner" },
  });
  if (answer.status !== 201) throw new Error(`provisioning: ${answer.status} ${JSON.stringify(answer.body)}`);
  return { email, name: answer.body.firm.name, token: answer.body.access_token };
}

// RFC 6238 with SHA-1, 6 digits, 30 s — what authenticator apps compute.
function totp(base32Secret, at = Date.now()) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of base32Secret.replace(/=+$/, "")) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)));
  const mac = createHmac("sha1", key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, "0");
}

async function accessible(page, name) {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ["violations"] }));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  if (bad.length > 0) {
    throw new Error(`${name}: axe found ${bad.map((v) => `${v.id} (${v.impact}): ${v.help}`).join("; ")}`);
  }
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

async function expectText(locator, pattern, what) {
  await locator.waitFor({ state: "visible", timeout: 10_000 });
  const deadline = Date.now() + 10_000;
  let text = "";
  while (Date.now() < deadline) {
    text = (await locator.textContent()) ?? "";
    if (pattern.test(text)) return text;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: expected ${pattern}, found ${JSON.stringify(text)}`);
}

const tests = [];
const test = (name, fn) => tests.push({ name, fn });

test("sign_in_shows_errors_next_to_fields_keeps_input_and_reaches_the_overview", async (browser) => {
  const firm = await provision();
  const page = await browser.newPage({ extraHTTPHeaders: { "cf-connecting-ip": clientIp() } });
  // No session: the overview sends the person to sign in.
  await page.goto(base + "/");
  await page.waitForURL("**/sign-in", { timeout: 15_000 });
  await accessible(page, "sign-in");
  // The address rule runs in the browser (shared/'s rule), next to the field.
  await page.fill("#email", "not-an-address");
  await page.fill("#password", "whatever");
  await page.click("button[type=submit]");
  await expectText(page.locator("#email-error"), /\S/, "e-mail error");
  if ((await page.inputValue("#email")) !== "not-an-address") throw new Error("the typed address was lost");
  // A wrong password: the server's refusal, and nothing typed is lost.
  await page.fill("#email", firm.email);
  await page.fill("#password", "the wrong password");
  await page.click("button[type=submit]");
  await expectText(page.locator(".form-error"), /\S/, "wrong-password message");
  if ((await page.inputValue("#email")) !== firm.email) throw new Error("the address was lost");
  await page.screenshot({ path: join(shots, "sign-in-refused.png") });
  // The right one: the overview, with the firm's name and the bell.
  await page.fill("#password", PASSWORD);
  await page.click("button[type=submit]");
  await page.waitForURL(base + "/", { timeout: 15_000 });
  await expectText(page.locator("header.bar strong"), new RegExp(firm.name), "firm name");
  await expectText(page.locator(".bell"), /\d+ unread/, "bell");
  await accessible(page, "overview");
  // Signing out ends the session.
  await page.click("header.bar button");
  await page.waitForURL("**/sign-in", { timeout: 15_000 });
  await page.goto(base + "/");
  await page.waitForURL("**/sign-in", { timeout: 15_000 });
});

test("sign_in_with_an_authenticator_asks_for_the_code", async (browser) => {
  const firm = await provision();
  const enrol = await api("POST", "/v1/auth/mfa/totp", null, firm.token);
  if (enrol.status !== 201) throw new Error(`enrol: ${enrol.status}`);
  const confirm = await api("POST", "/v1/auth/mfa/totp/confirm", { code: totp(enrol.body.secret) }, firm.token);
  if (confirm.status !== 200) throw new Error(`confirm: ${confirm.status} ${JSON.stringify(confirm.body)}`);
  const page = await browser.newPage({ extraHTTPHeaders: { "cf-connecting-ip": clientIp() } });
  await page.goto(base + "/sign-in");
  await page.fill("#email", firm.email);
  await page.fill("#password", PASSWORD);
  await page.click("button[type=submit]");
  await page.locator("#code").waitFor({ timeout: 10_000 });
  await accessible(page, "sign-in-code");
  // A wrong code is refused where it was typed.
  await page.fill("#code", "000000");
  await page.click("button[type=submit]");
  await page.waitForFunction(
    () => ["#code-error", ".form-error"].some((s) => (document.querySelector(s)?.textContent ?? "").trim() !== ""),
    null, { timeout: 10_000 });
  // (The confirming code was spent; the next period's code is accepted.)
  await page.fill("#code", totp(enrol.body.secret, Date.now() + 30_000));
  await page.click("button[type=submit]");
  await page.waitForURL(base + "/", { timeout: 15_000 });
  await expectText(page.locator("header.bar strong"), new RegExp(firm.name), "firm name");
});

test("a_new_firm_is_created_with_errors_beside_their_fields_and_its_owner_signed_in", async (browser) => {
  const page = await browser.newPage({ extraHTTPHeaders: { "cf-connecting-ip": clientIp() } });
  await page.goto(base + "/sign-in");
  await page.click("a[href='/sign-up']");
  await page.waitForURL("**/sign-up");
  await accessible(page, "sign-up");
  const slug = unique("made-in-browser");
  await page.fill("#firm-name", "Made In Browser LLP");
  // The slug rule of shared/ refuses in the browser, next to the field.
  await page.fill("#slug", "Not A Slug!");
  await page.fill("#owner-name", "Ada Owner");
  await page.fill("#owner-email", `ada@${slug}.test`);
  await page.fill("#owner-password", "short");
  await page.click("button[type=submit]");
  await expectText(page.locator("#slug-error"), /\S/, "slug error");
  if ((await page.getAttribute("#slug", "aria-invalid")) !== "true") throw new Error("slug not marked invalid");
  // The server's rule for the password comes back beside its field; the rest is kept.
  await page.fill("#slug", slug);
  await page.click("button[type=submit]");
  await expectText(page.locator("#owner-password-error"), /\S/, "password error");
  if ((await page.inputValue("#firm-name")) !== "Made In Browser LLP") throw new Error("the firm name was lost");
  if ((await page.textContent("#slug-error")).trim() !== "") throw new Error("a fixed field kept its error");
  await page.screenshot({ path: join(shots, "sign-up-refused.png"), fullPage: true });
  await page.fill("#owner-password", PASSWORD);
  await page.click("button[type=submit]");
  await page.waitForURL(base + "/", { timeout: 15_000 });
  await expectText(page.locator("header.bar strong"), /Made In Browser LLP/, "new firm's name");
});

/** The first mailed link to `to` whose path is `page`, waiting for it to arrive. */
async function mailedLink(to, page) {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const messages = await (await fetch(`${process.env.FIRMAMENT_MAIL_URL}/_sim/messages?to=${encodeURIComponent(to)}`)).json();
    for (const m of messages) {
      const found = (m.TextBody ?? "").match(new RegExp(`https?://[^\\s]*(/${page}#token=[^\\s]+)`));
      if (found) return found[1];
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no ${page} link reached ${to}`);
}

test("a_forgotten_password_is_reset_from_the_mailed_link", async (browser) => {
  const firm = await provision();
  const page = await browser.newPage({ extraHTTPHeaders: { "cf-connecting-ip": clientIp() } });
  await page.goto(base + "/sign-in");
  await page.click("a[href='/forgot-password']");
  await page.waitForURL("**/forgot-password");
  await page.fill("#email", firm.email);
  await page.click("button[type=submit]");
  await expectText(page.locator(".notice"), /on its way/, "sent notice");
  await accessible(page, "forgot-password");
  // The link from the e-mail, opened in the browser: a weak password is refused
  // beside its field, then a good one is saved.
  await page.goto(base + (await mailedLink(firm.email, "reset-password")));
  await page.fill("#password", "short");
  await page.click("button[type=submit]");
  await expectText(page.locator("#password-error"), /\S/, "password error");
  await accessible(page, "reset-password");
  const fresh = "a brand new pass phrase 2026";
  await page.fill("#password", fresh);
  await page.click("button[type=submit]");
  await expectText(page.locator(".notice"), /changed/, "reset done");
  // The new password signs in; the old one no longer does.
  const old = await api("POST", "/v1/auth/sign-in", { email: firm.email, password: PASSWORD });
  if (old.status !== 401) throw new Error(`old password: ${old.status}`);
  const now = await api("POST", "/v1/auth/sign-in", { email: firm.email, password: fresh });
  if (now.status !== 200) throw new Error(`new password: ${now.status}`);
  // Without a token the page says where to get one.
  await page.goto(base + "/reset-password");
  await expectText(page.locator(".form-error"), /link in the e-mail/, "no-token message");
});

test("an_unknown_console_path_gets_the_app_and_the_api_stays_the_api", async (browser) => {
  const page = await browser.newPage({ viewport: { width: 360, height: 740 } });
  await page.goto(base + "/no/such/screen");
  await expectText(page.locator("h1"), /does not exist/, "not-found page");
  await accessible(page, "not-found-360px");
  const api404 = await fetch(base + "/v1/no-such-route");
  if (api404.status !== 404 || !(api404.headers.get("content-type") ?? "").includes("problem+json")) {
    throw new Error(`/v1 fell into the app: ${api404.status}`);
  }
});

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
let passed = 0;
const failed = [];
for (const { name, fn } of tests) {
  const contexts = [];
  // Each page gets its own context (cookies) and client address (rate limits).
  const newPage = async (options = {}) => {
    const context = await browser.newContext(options);
    contexts.push(context);
    return context.newPage();
  };
  try {
    await fn({ newPage });
    passed++;
    console.log(`test ${name} ... ok`);
  } catch (e) {
    failed.push(name);
    console.log(`test ${name} ... FAILED\n  ${e.stack ?? e}`);
  } finally {
    for (const context of contexts) await context.close();
  }
}
await browser.close();
console.log(`\ntest result: ${failed.length ? "FAILED" : "ok"}. ${passed} passed; ${failed.length} failed (browser)`);
process.exit(failed.length ? 1 : 0);
