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
    const where = (v) => v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ");
    throw new Error(`${name}: axe found ${bad.map((v) => `${v.id} (${v.impact}): ${v.help} at ${where(v)}`).join("; ")}`);
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
  await page.waitForURL("**/sign-in**", { timeout: 15_000 });
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
  await page.waitForURL("**/sign-in**", { timeout: 15_000 });
  await page.goto(base + "/");
  await page.waitForURL("**/sign-in**", { timeout: 15_000 });
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


/** Signs `email` in through the sign-in page and waits for the overview. */
async function signIn(page, email, password = PASSWORD, landing = "/") {
  await page.goto(base + "/sign-in");
  await page.fill("#email", email);
  await page.fill("#password", password);
  await page.click("button[type=submit]");
  await page.waitForURL(base + landing, { timeout: 15_000 });
}

/** The texts of the console's navigation. */
async function navigation(page) {
  await page.locator("nav.side a").first().waitFor({ timeout: 10_000 });
  return page.locator("nav.side a").allTextContents();
}

test("a_colleague_is_invited_accepts_and_sees_only_what_their_role_allows", async (browser) => {
  const firm = await provision();
  const owner = await browser.newPage({ extraHTTPHeaders: { "cf-connecting-ip": clientIp() } });
  await signIn(owner, firm.email);
  const ownerNav = await navigation(owner);
  for (const item of ["Clients", "People", "Settings", "Audit log", "Webhooks", "Jobs"]) {
    if (!ownerNav.includes(item)) throw new Error(`the owner's navigation lacks ${item}: ${ownerNav}`);
  }
  await owner.click("nav.side a[href='/members']");
  await owner.locator("#invite-email").waitFor();
  await accessible(owner, "members");
  // A bad address is refused beside the field, by shared/'s rule, before sending.
  await owner.fill("#invite-email", "not an address");
  await owner.click("form:has(#invite-email) button[type=submit]");
  await expectText(owner.locator("#invite-email-error"), /\S/, "invite e-mail error");
  const email = `${unique("colleague")}@people.test`;
  await owner.fill("#invite-email", email);
  await owner.selectOption("#invite-role", "staff");
  await owner.click("form:has(#invite-email) button[type=submit]");
  await expectText(owner.locator("form:has(#invite-email) .notice"), new RegExp(email), "invitation sent");
  await expectText(owner.locator("#invitations-title + ul"), new RegExp(email), "pending invitation listed");

  // The colleague opens the mailed link, chooses a name and password, and signs in.
  const colleague = await browser.newPage({ extraHTTPHeaders: { "cf-connecting-ip": clientIp() } });
  await colleague.goto(base + (await mailedLink(email, "accept-invitation")));
  await accessible(colleague, "accept-invitation");
  await colleague.fill("#name", "Grace Colleague");
  await colleague.fill("#password", "short");
  await colleague.click("button[type=submit]");
  await expectText(colleague.locator("#password-error"), /\S/, "weak password refused");
  if ((await colleague.inputValue("#name")) !== "Grace Colleague") throw new Error("the name was lost");
  const colleaguePassword = "a colleague's pass phrase 2026";
  await colleague.fill("#password", colleaguePassword);
  await colleague.click("button[type=submit]");
  await colleague.waitForURL("**/sign-in?joined=1**", { timeout: 15_000 });
  await expectText(colleague.locator(".notice"), /ready/, "account ready");
  await colleague.fill("#email", email);
  await colleague.fill("#password", colleaguePassword);
  await colleague.click("button[type=submit]");
  await colleague.waitForURL(base + "/", { timeout: 15_000 });
  // Staff read clients and the team; administration is not offered.
  const staffNav = await navigation(colleague);
  for (const item of ["Clients", "People", "Settings"]) {
    if (!staffNav.includes(item)) throw new Error(`staff navigation lacks ${item}: ${staffNav}`);
  }
  for (const item of ["Audit log", "Webhooks", "Jobs", "Single sign-on"]) {
    if (staffNav.includes(item)) throw new Error(`staff navigation offers ${item}: ${staffNav}`);
  }
  await accessible(colleague, "overview-staff");
  // Staff cannot change the settings: the form is read-only for them.
  await colleague.goto(base + "/settings");
  await colleague.locator("#firm-name").waitFor();
  if (!(await colleague.locator("#firm-name").isDisabled())) throw new Error("staff may edit settings");
});

/** A small valid PNG: a 1×1 image padded with a text chunk to `size` bytes. */
function png(size) {
  const head = Buffer.from("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489", "hex");
  const idat = Buffer.from("0000000d4944415478da63f8cfc0f01f0005000201a5f6a3a10000000049454e44ae426082", "hex");
  const filler = Math.max(0, size - head.length - idat.length - 12);
  const chunk = Buffer.alloc(12 + filler);
  chunk.writeUInt32BE(filler, 0);
  chunk.write("tEXt", 4, "latin1");
  chunk.fill(0x61, 8, 8 + filler);
  return Buffer.concat([head, chunk, idat]);
}

test("settings_are_changed_with_errors_beside_fields_and_a_logo_uploaded_with_progress", async (browser) => {
  const firm = await provision();
  const page = await browser.newPage({ extraHTTPHeaders: { "cf-connecting-ip": clientIp() } });
  await signIn(page, firm.email);
  await page.click("nav.side a[href='/settings']");
  await page.locator("#firm-timezone").waitFor();
  await page.waitForFunction(() => document.querySelector("#firm-timezone")?.value === "Europe/Paris",
    null, { timeout: 10_000 });
  await accessible(page, "settings");
  // A colour white text cannot be read on, and an unknown zone: each refused beside its field.
  await page.fill("#firm-brand", "#ffdd00");
  await page.fill("#firm-timezone", "Mars/Olympus");
  await page.click("form:has(#firm-name) button[type=submit]");
  await expectText(page.locator("#firm-timezone-error"), /\S/, "zone error");
  await page.screenshot({ path: join(shots, "settings-refused.png"), fullPage: true });
  await page.fill("#firm-timezone", "Asia/Tokyo");
  await page.click("form:has(#firm-name) button[type=submit]");
  await expectText(page.locator("#firm-brand-error"), /4\.5:1/, "contrast error from the server");
  if ((await page.inputValue("#firm-timezone")) !== "Asia/Tokyo") throw new Error("the typed zone was lost");
  await page.fill("#firm-brand", "#0f766e");
  await page.click("form:has(#firm-name) button[type=submit]");
  await expectText(page.locator("form:has(#firm-name) .notice"), /Saved/, "settings saved");
  const firmNow = await api("GET", "/v1/firm", null, firm.token);
  if (firmNow.body.timezone !== "Asia/Tokyo" || firmNow.body.brand_color !== "#0f766e") {
    throw new Error(`settings not stored: ${JSON.stringify(firmNow.body)}`);
  }
  // The logo: chosen, uploaded with a progress bar, then the firm's.
  await page.setInputFiles("#logo-file", { name: "logo.png", mimeType: "image/png", buffer: png(300_000) });
  await page.click("form:has(#logo-file) button[type=submit]");
  await expectText(page.locator("form:has(#logo-file) .notice"), /uploaded/, "logo uploaded");
  const branding = await api("GET", "/v1/firm/branding", null, firm.token);
  if (!branding.body.logo?.file_id) throw new Error(`no logo: ${JSON.stringify(branding.body)}`);
  await accessible(page, "settings-with-logo");
  // A file that is not an image is refused beside the file field.
  await page.setInputFiles("#logo-file", { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("hello") });
  await page.click("form:has(#logo-file) button[type=submit]");
  await expectText(page.locator("#logo-file-error"), /\S/, "non-image refused beside the file field");
});

test("a_client_edited_by_someone_else_meanwhile_is_a_conflict_that_keeps_what_was_typed", async (browser) => {
  const firm = await provision();
  const page = await browser.newPage({ extraHTTPHeaders: { "cf-connecting-ip": clientIp() } });
  await signIn(page, firm.email);
  await page.click("nav.side a[href='/clients']");
  await page.click("a[href='/clients/new']");
  await page.locator("#client-name").waitFor();
  await accessible(page, "client-new");
  await page.fill("#client-name", "Conflict Ltd");
  await page.fill("#client-email", "not-an-address");
  await page.click("button[type=submit]");
  await expectText(page.locator("#client-email-error"), /\S/, "client e-mail error");
  await page.fill("#client-email", "books@conflict.test");
  await page.click("button[type=submit]");
  await page.waitForURL("**/clients/cli_*", { timeout: 15_000 });
  await expectText(page.locator("h1"), /Conflict Ltd/, "client page");
  await accessible(page, "client-detail");
  const clientId = page.url().split("/").pop();
  // Someone else renames it through the API while the page is open.
  const theirs = await api("PATCH", `/v1/clients/${clientId}`, { name: "Renamed Elsewhere Ltd" }, firm.token);
  if (theirs.status !== 200) throw new Error(`their change: ${theirs.status}`);
  await page.fill("#client-name", "My Typed Name Ltd");
  await page.click("form:has(#client-name) button[type=submit]");
  await expectText(page.locator(".conflict"), /changed this client/, "conflict offered");
  await page.screenshot({ path: join(shots, "client-conflict.png"), fullPage: true });
  await page.click(".conflict button");
  await expectText(page.locator(".hint"), /Renamed Elsewhere Ltd/, "their version shown");
  if ((await page.inputValue("#client-name")) !== "My Typed Name Ltd") throw new Error("the typed name was lost");
  await page.click("form:has(#client-name) button[type=submit]");
  await expectText(page.locator("form:has(#client-name) .notice"), /Saved/, "saved over the new version");
  const stored = await api("GET", `/v1/clients/${clientId}`, null, firm.token);
  if (stored.body.name !== "My Typed Name Ltd") throw new Error(`stored: ${stored.body.name}`);
  // The list finds it by search and by kind; archiving moves it out of the active list.
  await page.goto(base + "/clients");
  await page.fill("#client-search", "typed name");
  await expectText(page.locator("table tbody"), /My Typed Name Ltd/, "search result");
  await accessible(page, "clients-list");
  await page.goto(base + `/clients/${clientId}`);
  await page.click("button.danger");
  await expectText(page.locator("h1"), /Archived/, "archived");
});

test("a_portal_user_accepts_their_invitation_and_reaches_only_their_client", async (browser) => {
  const firm = await provision();
  const mine = await api("POST", "/v1/clients", { name: "Mine Portal Ltd" }, firm.token);
  const theirs = await api("POST", "/v1/clients", { name: "Theirs Portal Ltd" }, firm.token);
  await api("PATCH", "/v1/firm", { brand_color: "#7c2d12" }, firm.token);
  const email = `${unique("portal")}@client.test`;
  const invited = await api("POST", `/v1/clients/${mine.body.id}/portal-users`, { email, role: "admin" }, firm.token);
  if (invited.status !== 201) throw new Error(`invite: ${invited.status} ${JSON.stringify(invited.body)}`);
  const phone = { viewport: { width: 360, height: 740 }, extraHTTPHeaders: { "cf-connecting-ip": clientIp() } };
  const page = await browser.newPage(phone);
  // The portal loads its own entry, never the whole console.
  const fetched = [];
  page.on("request", (r) => fetched.push(new URL(r.url()).pathname));
  await page.goto(base + (await mailedLink(email, "portal/accept-invitation")));
  await expectText(page.locator("h1"), /portal/, "portal invitation page");
  await accessible(page, "portal-accept-360px");
  const password = "a portal person's pass phrase";
  await page.fill("#name", "Pat Portal");
  await page.fill("#password", password);
  await page.click("button[type=submit]");
  await page.waitForURL("**/sign-in?joined=1**", { timeout: 15_000 });
  await page.fill("#email", email);
  await page.fill("#password", password);
  await page.click("button[type=submit]");
  await page.waitForURL("**/portal", { timeout: 15_000 });
  await expectText(page.locator("h1"), /Mine Portal Ltd/, "their client");
  if ((await page.textContent("body")).includes("Theirs Portal Ltd")) throw new Error("another client is shown");
  const accent = await page.locator(".portal").evaluate((el) => getComputedStyle(el).getPropertyValue("--accent").trim());
  if (accent !== "#7c2d12") throw new Error(`the firm's colour is not applied: ${accent}`);
  await accessible(page, "portal-360px");
  if (!fetched.includes("/pkg/portal_bg.wasm") || fetched.includes("/pkg/console_bg.wasm")) {
    throw new Error(`the portal loaded ${fetched.filter((p) => p.startsWith("/pkg/"))}`);
  }
  // The console's own screens send a portal user back to the portal.
  await page.goto(base + "/clients");
  await page.waitForURL("**/portal", { timeout: 15_000 });
  // And the API behind it answers nothing of the other client.
  const cookies = await page.context().cookies();
  const access = cookies.find((c) => c.name === "fm_access");
  const other = await api("GET", `/v1/clients/${theirs.body.id}`, null, access.value);
  if (other.status !== 403 && other.status !== 404) throw new Error(`other client: ${other.status}`);
});

test("the_account_enrols_an_authenticator_from_its_qr_code_and_shows_recovery_codes_once", async (browser) => {
  const firm = await provision();
  const page = await browser.newPage({ extraHTTPHeaders: { "cf-connecting-ip": clientIp() } });
  await signIn(page, firm.email);
  await page.goto(base + "/account");
  await page.locator("#profile-name").waitFor();
  await accessible(page, "account");
  await page.click("text=Set up an authenticator");
  await page.locator("img.qr").waitFor();
  const secret = (await page.textContent("code.secret")).trim();
  await page.fill("#totp-code", "000000");
  await page.click("form:has(#totp-code) button[type=submit]");
  await page.waitForFunction(
    () => ["#totp-code-error", "section[aria-labelledby=mfa-title] .form-error"]
      .some((s) => (document.querySelector(s)?.textContent ?? "").trim() !== ""),
    null, { timeout: 10_000 });
  await page.fill("#totp-code", totp(secret));
  await page.click("form:has(#totp-code) button[type=submit]");
  await page.locator(".code-list li").first().waitFor({ timeout: 10_000 });
  const codes = await page.locator(".code-list li").count();
  if (codes !== 10) throw new Error(`${codes} recovery codes shown`);
  await accessible(page, "account-recovery-codes");
  // Shown once: a new visit no longer has them.
  await page.reload();
  await page.locator("#profile-name").waitFor();
  if (await page.locator(".code-list").count()) throw new Error("recovery codes shown again");
  // The profile speaks French once chosen: the page reloads in it.
  await page.selectOption("#profile-language", "fr");
  await page.click("form:has(#profile-name) button[type=submit]");
  await expectText(page.locator("h1"), /Votre compte/, "French");
  if ((await page.getAttribute("html", "lang")) !== "fr") throw new Error("lang not fr");
  await accessible(page, "account-fr");
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
