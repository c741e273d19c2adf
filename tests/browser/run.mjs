// Browser tests of the web console in real Chromium (Debian's package), driven by
// Playwright, against the workers tests/run-e2e started (FIRMAMENT_URL). Every
// screen is also checked by axe-core (no serious or critical violation) and
// photographed into target/screenshots/ for review.
//
// Usage: node tests/browser/run.mjs   (prints a cargo-style "test result:" line)
import { chromium } from "playwright-core";
import { createHmac } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
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
  await noRawKeys(page, name);
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

// The console's message catalogue (console/src/messages.rs): three tables by entry.
const catalogue = (() => {
  const source = readFileSync(join(root, "console", "src", "messages.rs"), "utf8");
  const tables = {};
  for (const [, name, body] of source.matchAll(/const (COMMON|PUBLIC|STAFF): &\[Row\] = &\[\n([\s\S]*?)\n\];/g)) {
    tables[name] = [...body.matchAll(/^ {4}\("([^"]+)", "((?:[^"\\]|\\.)*)", "((?:[^"\\]|\\.)*)"\),$/gm)]
      .map(([, key, en, fr]) => ({ key, en, fr }));
  }
  return tables;
})();
const catalogueKeys = Object.values(catalogue).flat().map((r) => r.key);

/** Whether a page shows a catalogue key where its text should be. */
async function noRawKeys(page, name) {
  const text = await page.evaluate(() => document.body.innerText);
  const raw = catalogueKeys.filter((k) => text.includes(k));
  if (raw.length) throw new Error(`${name}: the page shows message keys, not their text: ${raw.join(", ")}`);
}

const tests = [];
// BROWSER_TESTS=<regex> runs only the tests whose names match.
const only = process.env.BROWSER_TESTS ? new RegExp(process.env.BROWSER_TESTS) : null;
const test = (name, fn) => { if (!only || only.test(name)) tests.push({ name, fn }); };

test("the_message_catalogue_is_sorted_complete_and_each_key_in_its_entry_s_table", async () => {
  const PUBLIC = ["forgot", "reset", "sign_in", "sign_up", "verify"];
  const STAFF = ["account", "admin", "audit", "clients", "crm", "events", "flag", "flags", "home", "jobs", "members", "nav",
    "notifications", "portal_role", "portal_users", "role", "settings", "sso", "webhooks"];
  const tableOf = (key) => { const p = key.split(".")[0]; return PUBLIC.includes(p) ? "PUBLIC" : STAFF.includes(p) ? "STAFF" : "COMMON"; };
  const problems = [];
  for (const name of ["COMMON", "PUBLIC", "STAFF"]) {
    const rows = catalogue[name] ?? [];
    if (rows.length < 10) problems.push(`${name} has ${rows.length} rows (the parser missed it?)`);
    rows.forEach((r, i) => {
      if (i > 0 && !(rows[i - 1].key < r.key)) problems.push(`${name}: ${r.key} out of order or repeated`);
      if (!r.en || !r.fr) problems.push(`${r.key} lacks a language`);
      if (tableOf(r.key) !== name) problems.push(`${r.key} belongs in ${tableOf(r.key)}, not ${name}`);
    });
  }
  const used = new Set();
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (path.endsWith(".rs")) for (const [, key] of readFileSync(path, "utf8").matchAll(/\bt\("([a-z_]+\.[a-z_.]+)"\)/g)) used.add(key);
    }
  };
  walk(join(root, "console", "src"));
  for (const key of used) if (!catalogueKeys.includes(key)) problems.push(`${key} is used but not in the catalogue`);
  if (used.size < 100) problems.push(`only ${used.size} keys found in the sources`);
  if (problems.length) throw new Error(problems.join("; "));
});

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
  // The preview writes an amount and this moment as the typed locale and currency would.
  await page.fill("#firm-locale", "fr-FR");
  await page.fill("#firm-currency", "EUR");
  await expectText(page.locator("#firm-format-preview .preview"), /1\s234\s567,89\s€/, "French euro preview");
  await page.fill("#firm-locale", "en-US");
  await page.fill("#firm-currency", "JPY");
  await expectText(page.locator("#firm-format-preview .preview"), /¥123,456,789/, "yen preview: no minor units");
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

test("firm_administration_screens_show_their_records_and_refuse_bad_input_beside_the_fields", async (browser) => {
  const firm = await provision();
  await api("POST", "/v1/clients", { name: "Audited Ltd" }, firm.token);
  const page = await browser.newPage({ extraHTTPHeaders: { "cf-connecting-ip": clientIp() } });
  await signIn(page, firm.email);
  // The audit log and its chain, checked by the server.
  await page.click("nav.side a[href='/audit']");
  await expectText(page.locator("table tbody"), /firm\.provisioned|member|client/, "audit entries");
  await page.click("text=Verify the chain");
  await expectText(page.locator("main .notice").first(), /The chain is intact \(\d+\)/, "chain verdict");
  await accessible(page, "audit");
  // The event log: each event with its deliveries, and redelivery on request.
  await page.click("nav.side a[href='/events']");
  await expectText(page.locator("table tbody"), /firm\.created/, "firm.created in the event log");
  await page.locator("table tbody tr:has-text('firm.created') button").first().click();
  await expectText(page.locator("main .notice").first(), /Done\./, "redelivered");
  await accessible(page, "events");
  // Webhooks: a URL the server refuses is named beside its field; a good one answers
  // its secret once and is listed; a test message is sent on request.
  await page.click("nav.side a[href='/webhooks']");
  await page.locator("#hook-url").waitFor();
  await page.fill("#hook-name", "Books");
  await page.fill("#hook-url", "ftp://books.example.test/hook");
  await page.click("form:has(#hook-url) button[type=submit]");
  await expectText(page.locator("#hook-url-error"), /\S/, "URL refused beside the field");
  if ((await page.inputValue("#hook-name")) !== "Books") throw new Error("the typed name was lost");
  // An event type the catalogue lacks is refused beside the types, in the browser.
  await page.fill("#hook-url", `${process.env.FIRMAMENT_RECEIVER_URL}/hooks/browser`);
  await page.fill("#hook-types", "firm.created, no.such.type");
  await page.click("form:has(#hook-url) button[type=submit]");
  await expectText(page.locator("#hook-types-error"), /event_types\[1\]/, "unknown type refused beside the types");
  await page.fill("#hook-types", "firm.created, webhook.*");
  await page.click("form:has(#hook-url) button[type=submit]");
  await expectText(page.locator(".codes code.secret"), /^whsec_/, "secret shown once").catch(async (e) => {
    throw new Error(`${e.message}; the form says ${await page.textContent("form:has(#hook-url)")}`);
  });
  await expectText(page.locator("table").first(), /Books/, "endpoint listed without reloading");
  await page.locator("table").first().locator("tbody tr:has-text('Books') button:has-text('Send a test')").click();
  await expectText(page.locator("main .notice").first(), /Done\./, "test message sent");
  await accessible(page, "webhooks");
  // Its health, in a line; then the test message's delivery and its attempts.
  await page.locator("table").first().locator("tbody tr:has-text('Books') button:has-text('Health')").click();
  await expectText(page.locator("main .notice").first(), /Last 24 hours: \d+ attempts/, "endpoint health");
  const deadline = Date.now() + 20_000;
  let delivered = false;
  while (!delivered && Date.now() < deadline) {
    await page.reload();
    await page.locator("table").first().waitFor();
    delivered = (await page.locator("table").nth(1).locator("tbody tr:has-text('webhook.test')").count()) > 0;
    if (!delivered) await new Promise((r) => setTimeout(r, 500));
  }
  if (!delivered) throw new Error("the test message's delivery is not listed");
  if (await page.locator(".codes code.secret").count()) throw new Error("the secret is shown again");
  await page.locator("table").nth(1).locator("tbody tr:has-text('webhook.test') button:has-text('Attempts')").first().click();
  await expectText(page.locator("main .notice").nth(1), /#1 .*→|No attempt yet/, "the delivery's attempts");
  // Jobs: a job started by a manager is listed with its state; no dead letters yet.
  const job = await api("POST", "/v1/jobs", { type: "jobs.purge_history" }, firm.token);
  if (job.status !== 201 && job.status !== 202) throw new Error(`job: ${job.status} ${JSON.stringify(job.body)}`);
  await page.click("nav.side a[href='/jobs']");
  await expectText(page.locator("table tbody").first(), /jobs\.purge_history/, "the job listed");
  await expectText(page.locator("main"), /Nothing here yet/, "no dead letters");
  await accessible(page, "jobs");
  // SAML: a certificate that is not one is refused beside its field, nothing typed lost.
  await page.click("nav.side a[href='/sso']");
  await page.locator("#idp-entity").waitFor();
  await page.fill("#idp-entity", "https://idp.example.test");
  await page.fill("#idp-url", "https://idp.example.test/sso");
  await page.fill("#idp-cert", "not a certificate");
  await page.click("form:has(#idp-cert) button[type=submit]");
  await expectText(page.locator("#idp-cert-error"), /\S/, "certificate refused beside the field");
  if ((await page.inputValue("#idp-entity")) !== "https://idp.example.test") throw new Error("the entity was lost");
  await expectText(page.locator("main code").nth(1), /\/acs$/, "our ACS URL to give the IdP");
  await accessible(page, "sso");
});

test("a_feature_flag_is_created_switched_on_and_a_stale_switch_is_refused", async (browser) => {
  const firm = await provision();
  const page = await browser.newPage({ extraHTTPHeaders: { "cf-connecting-ip": clientIp() } });
  await signIn(page, firm.email);
  await page.click("nav.side a[href='/flags']");
  await page.locator("#flag-key").waitFor();
  await accessible(page, "flags");
  // The key rule of shared/ and the share are checked beside their fields.
  await page.fill("#flag-key", "Bad Key");
  await page.fill("#flag-description", "Reports beta");
  await page.click("form:has(#flag-key) button[type=submit]");
  await expectText(page.locator("#flag-key-error"), /lower-case/, "key refused");
  await page.fill("#flag-key", "reports-beta");
  await page.fill("#flag-share", "150");
  await page.click("form:has(#flag-key) button[type=submit]");
  await expectText(page.locator("#flag-share-error"), /0 to 100/, "share refused");
  if ((await page.inputValue("#flag-description")) !== "Reports beta") throw new Error("the description was lost");
  await page.fill("#flag-share", "25");
  await page.click("form:has(#flag-key) button[type=submit]");
  await expectText(page.locator("form:has(#flag-key) .notice"), /reports-beta/, "created");
  const row = page.locator("table tbody tr:has-text('reports-beta')");
  await expectText(row, /Off/, "created off");
  // The same key again is refused beside the key, not overwritten.
  await page.fill("#flag-key", "reports-beta");
  await page.click("form:has(#flag-key) button[type=submit]");
  await expectText(page.locator("#flag-key-error"), /exists/, "taken key");
  // Switched on: only `enabled` changes; the 25 % split stays.
  await row.locator("button").click();
  await expectText(row, /On/, "switched on");
  const stored = await api("GET", "/v1/flags/reports-beta", null, firm.token);
  const split = stored.body.rules?.[0]?.serve?.split ?? [];
  if (stored.body.enabled !== true || stored.body.description !== "Reports beta" ||
      split.map((s) => `${s.variant}:${s.weight}`).join() !== "on:2500,off:7500") {
    throw new Error(`stored: ${JSON.stringify(stored.body)}`);
  }
  // Someone changes it through the API meanwhile: the page's switch is refused.
  const theirs = await api("PUT", "/v1/flags/reports-beta", { enabled: false, description: "Theirs" }, firm.token);
  if (theirs.status !== 200) throw new Error(`their change: ${theirs.status}`);
  await row.locator("button").click();
  await expectText(page.locator("main .notice").first(), /^(?!Done\.)\S/, "stale switch refused");
  await expectText(row, /Theirs/, "their version listed after the refusal");
  await accessible(page, "flags-switched");
});

test("the_account_changes_its_password_issues_an_api_key_once_and_ends_another_session", async (browser) => {
  const firm = await provision();
  // Another session of the same person, elsewhere.
  const elsewhere = await api("POST", "/v1/auth/sign-in", { email: firm.email, password: PASSWORD });
  if (elsewhere.status !== 200) throw new Error(`sign-in elsewhere: ${elsewhere.status}`);
  const page = await browser.newPage({ extraHTTPHeaders: { "cf-connecting-ip": clientIp() } });
  await signIn(page, firm.email);
  await page.goto(base + "/account");
  await page.locator("#key-name").waitFor();
  // An API key: no scope is refused beside the scopes; then shown once.
  await page.fill("#key-name", "Books sync");
  await page.click("form:has(#key-name) button[type=submit]");
  await expectText(page.locator("#key-scopes-error"), /\S/, "scopes required");
  await page.locator("fieldset.checks input[type=checkbox]").first().check();
  await page.click("form:has(#key-name) button[type=submit]");
  const key = await expectText(page.locator("section[aria-labelledby=keys-title] code.secret"), /\S{20,}/, "key shown once");
  const withKey = await api("GET", "/v1/me", null, key.trim());
  if (withKey.status === 401) throw new Error("the key shown does not authenticate");
  await expectText(page.locator("section[aria-labelledby=keys-title] ul.list"), /Books sync/, "key listed");
  await accessible(page, "account-api-key");
  // Sessions: the other one is ended from here; its refresh token stops working.
  // (provisioning, the sign-in elsewhere and this page: three), ended one by one.
  const sessions = page.locator("section[aria-labelledby=sessions-title] li");
  await sessions.nth(2).waitFor({ timeout: 10_000 });
  const others = page.locator("section[aria-labelledby=sessions-title] li:not(:has(.tag)) button");
  for (let left = await sessions.count(); left > 1; left--) {
    await others.first().click();
    const deadline = Date.now() + 10_000;
    while ((await sessions.count()) >= left && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if ((await sessions.count()) !== left - 1) throw new Error(`${await sessions.count()} sessions after ending one of ${left}`);
  }
  await expectText(sessions.first(), /this browser/, "this session kept");
  const refreshed = await api("POST", "/v1/auth/refresh", { refresh_token: elsewhere.body.refresh_token });
  if (refreshed.status !== 401) throw new Error(`the ended session still refreshes: ${refreshed.status}`);
  // Password: a wrong current password is refused beside its field, the new one kept.
  await page.fill("#current-password", "not my password at all");
  await page.fill("#new-password", "a brand new pass phrase 2027");
  await page.click("form:has(#current-password) button[type=submit]");
  await page.waitForFunction(
    () => ["#current-password-error", "form:has(#current-password) .form-error"]
      .some((s) => (document.querySelector(s)?.textContent ?? "").trim() !== ""),
    null, { timeout: 10_000 });
  if ((await page.inputValue("#new-password")) !== "a brand new pass phrase 2027") throw new Error("the new password was lost");
  await page.fill("#current-password", PASSWORD);
  await page.click("form:has(#current-password) button[type=submit]");
  await expectText(page.locator("form:has(#current-password) .notice"), /changed/, "password changed");
  const signedIn = await api("POST", "/v1/auth/sign-in", { email: firm.email, password: "a brand new pass phrase 2027" });
  if (signedIn.status !== 200) throw new Error(`the new password does not sign in: ${signedIn.status}`);
});

test("the_client_list_pages_filters_by_status_and_kind_and_searches", async (browser) => {
  const firm = await provision();
  for (let i = 0; i < 27; i++) {
    const kind = i % 3 === 0 ? "individual" : "organization";
    const made = await api("POST", "/v1/clients", { name: `Paged ${String(i).padStart(2, "0")} ${kind}`, kind }, firm.token);
    if (made.status !== 201) throw new Error(`client ${i}: ${made.status} ${JSON.stringify(made.body)}`);
    if (i === 5) {
      const archived = await api("PATCH", `/v1/clients/${made.body.id}`, { status: "archived" }, firm.token);
      if (archived.status !== 200) throw new Error(`archive: ${archived.status} ${JSON.stringify(archived.body)}`);
    }
  }
  const page = await browser.newPage({ viewport: { width: 360, height: 740 }, extraHTTPHeaders: { "cf-connecting-ip": clientIp() } });
  await signIn(page, firm.email);
  await page.goto(base + "/clients");
  const rows = page.locator("table tbody tr");
  await rows.first().waitFor();
  const first = await rows.count();
  const next = page.locator("nav.pager button").nth(1);
  if (await next.isDisabled()) throw new Error(`one page of ${first} rows for 26 active clients`);
  const firstNames = await rows.allTextContents();
  await next.click();
  await page.waitForFunction((n) => document.querySelectorAll("table tbody tr").length !== n, first);
  const secondNames = await rows.allTextContents();
  if (first + secondNames.length !== 26) throw new Error(`${first} + ${secondNames.length} active clients listed`);
  if (secondNames.some((n) => firstNames.includes(n))) throw new Error("a client appears on both pages");
  await accessible(page, "clients-page-2-360px");
  await page.locator("nav.pager button").first().click();
  await expectText(rows.first(), new RegExp(firstNames[0].slice(0, 10)), "back to the first page");
  // Archived only: the one archived client.
  await page.selectOption("#client-status", "archived");
  await expectText(page.locator("table tbody"), /Paged 05/, "archived filter");
  if ((await rows.count()) !== 1) throw new Error(`${await rows.count()} archived rows`);
  // Individuals among the active, found by search too.
  await page.selectOption("#client-status", "active");
  await page.selectOption("#client-kind", "individual");
  await page.fill("#client-search", "paged 1");
  const expected = ["Paged 12 individual", "Paged 15 individual", "Paged 18 individual"];
  await page.waitForFunction((names) => {
    const shown = [...document.querySelectorAll("table tbody tr td:first-child")].map((td) => td.textContent.trim());
    return shown.length === names.length && names.every((n) => shown.includes(n));
  }, expected, { timeout: 10_000 }).catch(async () => {
    throw new Error(`search within a kind shows ${await rows.allTextContents()}`);
  });
  await page.fill("#client-search", "no such client anywhere");
  await expectText(page.locator("main"), /No client matches/, "nothing found");
});

test("a_lead_is_added_scored_converted_and_its_deal_dragged_across_the_pipeline_board", async (browser) => {
  const firm = await provision();
  const ok = (answer, what) => { if (answer.status >= 300) throw new Error(`${what}: ${answer.status} ${JSON.stringify(answer.body)}`); return answer.body; };
  const pipeline = ok(await api("POST", "/v1/crm/pipelines", { name: "Sales", stages: [
    { name: "Qualified", probability: 10 }, { name: "Proposal", probability: 50 }, { name: "Negotiation", probability: 80 },
    { name: "Won", kind: "won" }, { name: "Lost", kind: "lost" }] }, firm.token), "pipeline");
  ok(await api("POST", "/v1/crm/scoring-rules", { name: "Decision maker", trigger: "job_title_match", points: 40,
    conditions: [{ field: "title", op: "contains", value: "director" }] }, firm.token), "rule");
  const page = await browser.newPage({ extraHTTPHeaders: { "cf-connecting-ip": clientIp() } });
  await signIn(page, firm.email);
  await page.click("nav.side a[href='/crm/leads']");
  await expectText(page.locator("main"), /No leads match/, "empty list");
  // A new lead: a bad address is refused beside its field, and nothing typed is lost.
  await page.click("summary");
  await page.fill("#lead-name", "Grace Hopper");
  await page.fill("#lead-company", "Cobol & Co");
  await page.fill("#lead-email", "not an address");
  await page.fill("#lead-title", "Finance Director");
  await page.click("form:has(#lead-name) button[type=submit]");
  await expectText(page.locator("#lead-email-error"), /\S/, "e-mail error beside the field");
  if ((await page.inputValue("#lead-company")) !== "Cobol & Co") throw new Error("the company typed was lost");
  await page.fill("#lead-email", "grace@cobol.example");
  await page.click("form:has(#lead-name) button[type=submit]");
  await expectText(page.locator("form:has(#lead-name) .notice"), /40/, "scored at once");
  await expectText(page.locator("table tbody"), /Grace Hopper/, "listed");
  await accessible(page, "crm-leads");
  // Its page explains the score; qualify it, then convert it into a deal.
  await page.click("table tbody a");
  await expectText(page.locator("h1"), /Grace Hopper/, "lead page");
  await expectText(page.locator("section[aria-labelledby=score-title] table"), /title contains/, "the score explained");
  await accessible(page, "crm-lead");
  await page.selectOption("#lead-status-edit", "qualified");
  await page.click("form:has(#lead-status-edit) button[type=submit]");
  await expectText(page.locator("form:has(#lead-status-edit) .notice"), /Saved/, "qualified");
  await page.click("text=Convert into a deal");
  await page.waitForURL("**/crm/deals/dea_*", { timeout: 15_000 });
  await expectText(page.locator("h1"), /Cobol & Co/, "deal page");
  await expectText(page.locator("section[aria-labelledby=prediction-title]"), /10%/, "the stage's chance");
  await page.fill("#activity-summary", "Scoping call");
  await page.selectOption("#activity-kind", "call");
  await page.click("form:has(#activity-summary) button[type=submit]");
  await expectText(page.locator(".timeline"), /Scoping call/, "logged on the timeline");
  await accessible(page, "crm-deal");
  const dealId = page.url().split("/").pop();
  // The board: drag the card to Proposal; then move it with its menu (keyboard path).
  await page.goto(base + "/crm/pipeline");
  const card = page.locator(".deal-card", { hasText: "Cobol & Co" });
  await card.waitFor({ timeout: 10_000 });
  await accessible(page, "crm-board");
  await card.dragTo(page.locator(`section[data-stage='${pipeline.stages[1].id}']`));
  await expectText(page.locator("main .notice").first(), /Proposal/, "dropped into Proposal");
  const moved = ok(await api("GET", `/v1/crm/deals/${dealId}`, null, firm.token), "deal");
  if (moved.stage_id !== pipeline.stages[1].id) throw new Error(`after the drag the deal is in ${moved.stage_name}`);
  // Into the lost column: the reason is asked for first.
  await page.selectOption(`#move-${dealId}`, pipeline.stages[4].id);
  await page.locator("#board-lost-reason").waitFor();
  await page.click("form:has(#board-lost-reason) button[type=submit]");
  await expectText(page.locator("#board-lost-reason-error"), /\S/, "the reason is required");
  await page.fill("#board-lost-reason", "Went with a bigger firm");
  await page.click("form:has(#board-lost-reason) button[type=submit]");
  await expectText(page.locator("main .notice").first(), /Lost/, "lost");
  const lost = ok(await api("GET", `/v1/crm/deals/${dealId}`, null, firm.token), "deal");
  if (lost.status !== "lost" || lost.lost_reason !== "Went with a bigger firm") throw new Error(`lost: ${JSON.stringify(lost)}`);
  // The forecast: a chart and the same figures as a table.
  ok(await api("POST", "/v1/crm/deals", { name: "Retainer", value_minor: 500000, expected_close: new Date().toISOString().slice(0, 10) }, firm.token), "deal");
  await page.click("nav.side a[href='/crm/forecast']");
  await page.locator("figure.chart svg").waitFor();
  await expectText(page.locator("table tbody").first(), /5,000|5 000|5\.000/, "the weighted retainer in the table");
  await accessible(page, "crm-forecast");
});

test("crm_setup_rules_and_automations_then_a_deal_s_tasks_proposals_and_a_lead_import", async (browser) => {
  const firm = await provision();
  const ok = (answer, what) => { if (answer.status >= 300) throw new Error(`${what}: ${answer.status} ${JSON.stringify(answer.body)}`); return answer.body; };
  const pipeline = ok(await api("POST", "/v1/crm/pipelines", { name: "Sales", stages: [
    { name: "Qualified", probability: 10 }, { name: "Proposal", probability: 50 },
    { name: "Won", kind: "won" }, { name: "Lost", kind: "lost" }] }, firm.token), "pipeline");
  const deal = ok(await api("POST", "/v1/crm/deals", { name: "Annual audit", value_minor: 900000, pipeline_id: pipeline.id }, firm.token), "deal");
  const product = ok(await api("POST", "/v1/crm/products", { code: "TAX", name: "Tax return", kind: "service",
    unit_price_minor: 30000, currency: "EUR" }, firm.token), "product");
  const page = await browser.newPage({ extraHTTPHeaders: { "cf-connecting-ip": clientIp() } });
  await signIn(page, firm.email);
  await page.click("nav.side a[href='/crm/setup']");
  await expectText(page.locator("h1"), /CRM setup/, "setup page");
  // An assignment rule: without members it is refused beside the members.
  await page.click("summary:has-text('New assignment rule')");
  await page.fill("#rule-name", "Everyone");
  await page.click("form:has(#rule-name) button[type=submit]");
  await expectText(page.locator("#rule-users-error"), /\S/, "members are required");
  if ((await page.inputValue("#rule-name")) !== "Everyone") throw new Error("the rule's name was lost");
  await page.locator("#rule-users input[type=checkbox]").first().check();
  await page.click("form:has(#rule-name) button[type=submit]");
  const rules = page.locator("section[aria-labelledby=rules-title] table tbody");
  await expectText(rules, /Everyone/, "the rule listed");
  await page.click("button[aria-label='Turn off Everyone']");
  await expectText(rules, /off/, "turned off");
  const stored = ok(await api("GET", "/v1/crm/assignment-rules", null, firm.token), "rules");
  if (stored.items?.[0]?.is_active !== false) throw new Error(`the rule after turning off: ${JSON.stringify(stored)}`);
  // A stage automation: a task when a deal enters Proposal.
  await page.click("summary:has-text('New automation')");
  await page.selectOption("#automation-stage", pipeline.stages[1].id);
  await page.selectOption("#automation-action", "create_task");
  await page.click("form:has(#automation-stage) button[type=submit]");
  await expectText(page.locator("#automation-title-error"), /\S/, "the task needs a title");
  await page.fill("#automation-title", "Send the engagement letter");
  await page.fill("#automation-due", "3");
  await page.click("form:has(#automation-stage) button[type=submit]");
  await expectText(page.locator("section[aria-labelledby=automations-title] table"), /Proposal.*Send the engagement letter.*3 days/s, "listed");
  await accessible(page, "crm-setup");
  // The deal enters Proposal: the automation's task appears; tick it off.
  await page.goto(base + `/crm/deals/${deal.id}`);
  await expectText(page.locator("h1"), /Annual audit/, "deal page");
  await page.selectOption("#deal-stage", pipeline.stages[1].id);
  await page.click("form:has(#deal-stage) button[type=submit]");
  await expectText(page.locator("section[aria-labelledby=tasks-title] table"), /Send the engagement letter.*automatic/s, "the automation's task");
  await page.fill("#task-title", "Call the finance director");
  await page.click("form:has(#task-title) button[type=submit]");
  await expectText(page.locator("section[aria-labelledby=tasks-title] table"), /Call the finance director/, "a task added by hand");
  await page.check("input[aria-label='Done Send the engagement letter']");
  const deadline = Date.now() + 10_000;
  for (;;) {
    const tasks = ok(await api("GET", `/v1/crm/deals/${deal.id}/tasks`, null, firm.token), "tasks");
    if (tasks.items.find((t) => t.title === "Send the engagement letter")?.status === "done") break;
    if (Date.now() > deadline) throw new Error(`the task was not ticked off: ${JSON.stringify(tasks)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  await expectText(page.locator("section[aria-labelledby=tasks-title] tr.faded"), /Send the engagement letter/, "shown as done");
  if (await page.isChecked("input[aria-label='Done Call the finance director']")) throw new Error("the open task shows ticked");
  // A proposal of two lines; a price written ambiguously is refused beside it.
  await page.click("summary:has-text('New proposal')");
  await page.fill("#proposal-title", "Audit 2027");
  await page.fill("#proposal-valid-until", "2099-01-31");
  await page.fill("#line-0-description", "Statutory audit");
  await page.fill("#line-0-price", "1,200");
  await page.click("form:has(#proposal-title) button[type=submit]");
  await expectText(page.locator("#line-0-price-error"), /decimals/, "the ambiguous price");
  if ((await page.inputValue("#line-0-description")) !== "Statutory audit") throw new Error("a line's description was lost");
  await page.fill("#line-0-price", "1200.50");
  // The second line comes from the catalogue: its name and price are the product's.
  await page.click("text=Add a line");
  await page.selectOption("#line-1-product", product.id);
  await page.fill("#line-1-quantity", "2");
  await page.click("form:has(#proposal-title) button[type=submit]");
  const proposals = page.locator("section[aria-labelledby=proposals-title] table tbody");
  await expectText(proposals, /Audit 2027.*Draft.*1[,. ]?800\.50|Audit 2027.*Draft.*1[  .]?800,50/s, "the proposal and its total");
  const drafted = ok(await api("GET", `/v1/crm/deals/${deal.id}/proposals`, null, firm.token), "proposals").items[0];
  if (drafted.lines[1].description !== "Tax return" || drafted.lines[1].product_id !== product.id) {
    throw new Error(`the catalogue line: ${JSON.stringify(drafted.lines[1])}`);
  }
  if ((await page.inputValue("#line-0-description")) !== "" || await page.locator("#line-1-description").count()) {
    throw new Error("the new-proposal form kept the lines of the proposal just made");
  }
  await page.click("button[aria-label='Send Audit 2027']");
  await expectText(proposals, /Sent/, "sent");
  await page.click("text=Client declined");
  await page.click("form:has(#proposal-reason) button[type=submit]");
  await expectText(page.locator("#proposal-reason-error"), /\S/, "a refusal needs its reason");
  await page.fill("#proposal-reason", "Chose their current auditor");
  await page.click("form:has(#proposal-reason) button[type=submit]");
  await expectText(proposals, /Declined.*Chose their current auditor/s, "declined with its reason");
  await accessible(page, "crm-deal-work");
  // Leads from a CSV file: two made, one refused with its line and field.
  await page.goto(base + "/crm/leads");
  await page.click("summary:has-text('Import leads')");
  await page.click("form:has(#import-file) button[type=submit]");
  await expectText(page.locator("#import-file-error"), /\S/, "a file is required");
  const csv = "contact_name,company_name,email\nAda Lovelace,Engines Ltd,ada@engines.example\n,Nobody Inc,x@nobody.example\nAlan Turing,Bletchley,alan@bletchley.example\n";
  await page.setInputFiles("#import-file", { name: "leads.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
  await page.click("form:has(#import-file) button[type=submit]");
  await expectText(page.locator("details:has(#import-file) .notice"), /2 created, 1 refused/, "the import's counts");
  await expectText(page.locator("table.import-errors tbody"), /3.*contact_name/s, "the refused row, by line and field");
  await expectText(page.locator("main table").last(), /Ada Lovelace|Alan Turing/, "the imported leads listed");
  await accessible(page, "crm-import");
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("text=Download these leads as CSV")]);
  const exported = readFileSync(await download.path(), "utf8");
  if (!exported.includes("Ada Lovelace") || !exported.includes("Alan Turing")) throw new Error(`the export: ${exported.slice(0, 300)}`);
  // The forecast shows past periods against what was won.
  await page.goto(base + "/crm/forecast");
  await page.locator("section[aria-labelledby=accuracy-title] p").first().waitFor();
  await accessible(page, "crm-forecast-accuracy");
});

test("the_catalogue_a_campaign_a_lead_looked_up_and_a_contract_signed_in_the_browser", async (browser) => {
  const firm = await provision();
  const ok = (answer, what) => { if (answer.status >= 300) throw new Error(`${what}: ${answer.status} ${JSON.stringify(answer.body)}`); return answer.body; };
  const pipeline = ok(await api("POST", "/v1/crm/pipelines", { name: "Sales", stages: [
    { name: "Qualified", probability: 10 }, { name: "Won", kind: "won" }, { name: "Lost", kind: "lost" }] }, firm.token), "pipeline");
  const page = await browser.newPage({ extraHTTPHeaders: { "cf-connecting-ip": clientIp() } });
  await signIn(page, firm.email);
  await page.click("nav.side a[href='/crm/catalogue']");
  await expectText(page.locator("h1"), /Catalogue/, "catalogue page");
  // A product: a bad code is refused beside it; a subscription asks for its interval.
  await page.click("summary:has-text('New product')");
  await page.fill("#product-code", "a b");
  await page.fill("#product-name", "Monthly bookkeeping");
  await page.selectOption("#product-kind", "subscription");
  await page.locator("#product-interval").waitFor();
  await page.fill("#product-price", "1200");
  await page.click("form:has(#product-code) button[type=submit]");
  await expectText(page.locator("#product-code-error"), /\S/, "the code's rule");
  if ((await page.inputValue("#product-name")) !== "Monthly bookkeeping") throw new Error("the name typed was lost");
  await page.fill("#product-code", "BOOKS");
  await page.click("form:has(#product-code) button[type=submit]");
  const products = page.locator("section[aria-labelledby=products-title] table tbody");
  await expectText(products, /BOOKS.*Monthly bookkeeping.*month/s, "listed with its interval");
  await page.click("button[aria-label='Archive Monthly bookkeeping']");
  await expectText(products, /archived/, "archived");
  // A campaign: its dates keep their order.
  await page.click("summary:has-text('New campaign')");
  await page.fill("#campaign-name", "Year-end webinar");
  await page.fill("#campaign-start", "2027-03-02");
  await page.fill("#campaign-end", "2027-03-01");
  await page.fill("#campaign-budget", "5000");
  await page.click("form:has(#campaign-name) button[type=submit]");
  await expectText(page.locator("#campaign-end-error"), /\S/, "the order of the dates");
  await page.fill("#campaign-end", "2027-03-31");
  await page.click("form:has(#campaign-name) button[type=submit]");
  const campaigns = page.locator("section[aria-labelledby=campaigns-title] table tbody");
  await expectText(campaigns, /Year-end webinar/, "the campaign listed");
  const campaign = ok(await api("GET", "/v1/crm/campaigns", null, firm.token), "campaigns").items[0];
  await page.selectOption(`#campaign-status-${campaign.id}`, "active");
  for (let i = 0; ; i++) {
    const now = ok(await api("GET", `/v1/crm/campaigns/${campaign.id}`, null, firm.token), "campaign");
    if (now.status === "active") break;
    if (i > 50) throw new Error(`the campaign stayed ${now.status}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  await accessible(page, "crm-catalogue");
  // A lead from the campaign is looked up: the provider fills, the typed title stays.
  const lead = ok(await api("POST", "/v1/crm/leads", { contact_name: "Ada", title: "Founder",
    email: `${unique("ada")}@engines.example`, campaign_id: campaign.id }, firm.token), "lead");
  await page.goto(base + `/crm/leads/${lead.id}`);
  await page.click("text=Look up company data");
  await expectText(page.locator(".enrich-status"), /Found/, "found at the provider");
  await expectText(page.locator("section[aria-labelledby=enrich-title]"), /Kept as typed: title/, "the typed title kept");
  const looked = ok(await api("GET", `/v1/crm/leads/${lead.id}`, null, firm.token), "lead");
  if (looked.industry !== "Machinery" || looked.title !== "Founder") throw new Error(`after the lookup: ${JSON.stringify(looked)}`);
  await accessible(page, "crm-lead-enriched");
  // A contract from the accepted proposal, signed in the browser.
  const deal = ok(await api("POST", "/v1/crm/deals", { name: "Books for Ada", value_minor: 1440000, pipeline_id: pipeline.id }, firm.token), "deal");
  const proposal = ok(await api("POST", `/v1/crm/deals/${deal.id}/proposals`, { title: "Bookkeeping 2027", valid_until: "2099-01-31",
    lines: [{ description: "Bookkeeping", quantity: 12, unit_price_minor: 120000 }] }, firm.token), "proposal");
  for (const step of ["send", "accept"]) ok(await api("POST", `/v1/crm/proposals/${proposal.id}/${step}`, {}, firm.token), step);
  await page.goto(base + `/crm/deals/${deal.id}`);
  await page.click("summary:has-text('New contract')");
  await page.selectOption("#contract-proposal", proposal.id);
  await page.fill("#contract-start", "2027-01-01");
  await page.fill("#contract-end", "2027-12-31");
  await page.click("form:has(#contract-proposal) button[type=submit]");
  const contracts = page.locator("section[aria-labelledby=contracts-title] table tbody");
  await expectText(contracts, /C-0001.*Bookkeeping 2027.*Draft/s, "the contract drafted");
  await page.click("button[aria-label='Sign C-0001']");
  await page.click("form:has(#contract-answer) button[type=submit]");
  await expectText(page.locator("#contract-answer-error"), /\S/, "who signed is required");
  await page.fill("#contract-answer", "Ada Lovelace");
  await page.click("form:has(#contract-answer) button[type=submit]");
  await expectText(contracts, /Active.*Ada Lovelace/s, "signed");
  await accessible(page, "crm-deal-contract");
  await page.click("button[aria-label='Terminate C-0001']");
  await page.fill("#contract-answer", "The client sold the company");
  await page.click("form:has(#contract-answer) button[type=submit]");
  await expectText(contracts, /Terminated/, "terminated");
  const ended = ok(await api("GET", `/v1/crm/deals/${deal.id}/contracts`, null, firm.token), "contracts").items[0];
  if (ended.termination_reason !== "The client sold the company" || ended.total_minor !== 1440000) throw new Error(JSON.stringify(ended));
});

test("google_sign_in_from_the_console_and_switching_between_firms", async (browser) => {
  const home = await provision();
  const other = await provision();
  // The first firm's owner is invited into the second firm and joins with their account.
  await api("POST", "/v1/firm/invitations", { email: home.email, role: "staff" }, other.token);
  const link = await mailedLink(home.email, "accept-invitation");
  const token = link.split("#token=")[1];
  const joined = await api("POST", "/v1/firm/invitations/accept", { token }, home.token);
  if (joined.status !== 201) throw new Error(`joining: ${joined.status} ${JSON.stringify(joined.body)}`);
  const page = await browser.newPage({ extraHTTPHeaders: { "cf-connecting-ip": clientIp() } });
  await page.goto(base + "/sign-in");
  // Google with the typed address as the account to offer (the provider simulator
  // signs in whoever the hint names); the callback answers the browser with cookies.
  await page.fill("#email", home.email);
  await page.click("text=Google");
  await page.waitForURL((url) => url.origin === base && !url.pathname.startsWith("/v1/") && !url.pathname.startsWith("/sign-in"),
    { timeout: 20_000 }).catch(async (e) => {
    throw new Error(`Google sign-in ended at ${page.url()}: ${(await page.textContent("body").catch(() => "")).slice(0, 300)} (${e.message})`);
  });
  await page.locator("header .firm").waitFor();
  await page.locator("#firm-switch").waitFor({ timeout: 10_000 });
  const options = await page.locator("#firm-switch option").allTextContents();
  if (!options.includes(home.name) || !options.includes(other.name)) throw new Error(`firms offered: ${options}`);
  await accessible(page, "firm-switch");
  const before = (await page.textContent("header .firm")).trim();
  const target = before === other.name ? home.name : other.name;
  await page.selectOption("#firm-switch", { label: target });
  await expectText(page.locator("header .firm"), new RegExp(target.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")), "switched firm");
  // In the second firm they are staff: no administration there.
  if (target === other.name) {
    const nav = await navigation(page);
    if (nav.includes("Audit log")) throw new Error(`staff in the second firm sees ${nav}`);
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
  // A script error or a wasm trap on any page fails the test, even when the
  // screen looked right: a panic leaves the app deaf to the next click.
  const errors = [];
  const newPage = async (options = {}) => {
    const context = await browser.newContext(options);
    contexts.push(context);
    const page = await context.newPage();
    page.on("pageerror", (e) => errors.push(`${page.url()}: ${e.message}`));
    page.on("console", (m) => { if (m.type() === "error" && /panicked|unreachable|RuntimeError/.test(m.text())) errors.push(`${page.url()}: ${m.text()}`); });
    return page;
  };
  try {
    await fn({ newPage });
    if (errors.length) throw new Error(`errors in the page: ${errors.join(" | ")}`);
    passed++;
    console.log(`test ${name} ... ok`);
  } catch (e) {
    failed.push(name);
    console.log(`test ${name} ... FAILED\n  ${e.stack ?? e}${errors.length ? `\n  errors in the page: ${errors.join(" | ")}` : ""}`);
  } finally {
    for (const context of contexts) await context.close();
  }
}
await browser.close();
console.log(`\ntest result: ${failed.length ? "FAILED" : "ok"}. ${passed} passed; ${failed.length} failed (browser)`);
process.exit(failed.length ? 1 : 0);
