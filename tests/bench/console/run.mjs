// The console as a person meets it, measured in Debian's Chromium against the
// workers scripts/bench started: for the sign-in page, a signed-in clients list and
// the client portal, the time until the page answers a person (median of cold
// loads, each in a fresh browser context), and Lighthouse's performance and
// accessibility scores (mobile, its default emulation and throttling, and desktop).
//
// Usage: node tests/bench/console/run.mjs BASE_URL MAIL_SIM_URL
// Prints one line per page: "<page> <ready_ms> <mobile_perf> <mobile_a11y> <desktop_perf> <desktop_a11y>
// <mobile: tti_ms fcp_ms lcp_ms tbt_ms speed_index_ms>"
import { chromium } from "playwright-core";
import lighthouse from "lighthouse";
import desktopConfig from "lighthouse/core/config/desktop-config.js";
import * as chromeLauncher from "chrome-launcher";

const [base, mailUrl] = process.argv.slice(2);
if (!base || !mailUrl) throw new Error("usage: run.mjs BASE_URL MAIL_SIM_URL");
const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const RUNS = Number(process.env.BENCH_CONSOLE_RUNS ?? 5);
const PASSWORD = "bench console pass phrase 2026";
let ip = 1;
const clientIp = () => `10.88.0.${ip++}`;

async function api(method, path, body, token) {
  const headers = { "content-type": "application/json", "cf-connecting-ip": clientIp() };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(base + path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const text = await response.text();
  if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function mailedToken(to) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const messages = await (await fetch(`${mailUrl}/_sim/messages?to=${encodeURIComponent(to)}`)).json();
    for (const m of messages) {
      const found = (m.TextBody ?? "").match(/#token=([^\s]+)/);
      if (found) return found[1];
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no invitation reached ${to}`);
}

// A firm with 25 clients (a full first page), and one client's portal user.
const slug = `console-bench-${Date.now().toString(36)}`;
const owner = `owner@${slug}.test`;
const firm = await api("POST", "/v1/firms", {
  name: "Console Bench LLP", slug, timezone: "Europe/London", currency: "GBP",
  owner: { email: owner, password: PASSWORD, name: "Bench Owner" },
});
let clientId = "";
for (let i = 0; i < 25; i++) {
  const c = await api("POST", "/v1/clients", { name: `Bench Client ${i}`, email: `books${i}@bench.test` }, firm.access_token);
  clientId ||= c.id;
}
const portalEmail = `pat@${slug}.test`;
await api("POST", `/v1/clients/${clientId}/portal-users`, { email: portalEmail, role: "admin" }, firm.access_token);
await api("POST", "/v1/portal/invitations/accept", { token: await mailedToken(portalEmail), name: "Pat", password: PASSWORD });

const browser = await chromium.launch({
  executablePath,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update"],
});

/** A browser session of `email`: the cookies the sign-in page leaves. */
async function sessionOf(email, landing) {
  const context = await browser.newContext({ extraHTTPHeaders: { "cf-connecting-ip": clientIp() } });
  const page = await context.newPage();
  await page.goto(base + "/sign-in");
  await page.fill("#email", email);
  await page.fill("#password", PASSWORD);
  await page.click("button[type=submit]");
  await page.waitForURL(base + landing, { timeout: 20_000 });
  const state = await context.storageState();
  await context.close();
  return state;
}

const pages = [
  { name: "sign-in", path: "/sign-in", ready: "#email", state: undefined },
  { name: "clients", path: "/clients", ready: "table tbody tr", state: await sessionOf(owner, "/") },
  { name: "portal", path: "/portal", ready: "h1:has-text('Bench Client 0')", state: await sessionOf(portalEmail, "/portal") },
];

/** Milliseconds from the navigation's start until `ready` is on the page, cold. */
async function readyMs(path, ready, state) {
  const context = await browser.newContext({ storageState: state, extraHTTPHeaders: { "cf-connecting-ip": clientIp() } });
  const page = await context.newPage();
  await page.goto(base + path, { waitUntil: "commit" });
  await page.locator(ready).first().waitFor({ timeout: 30_000 });
  const ms = await page.evaluate(() => performance.now());
  await context.close();
  return ms;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = [];
for (const p of pages) {
  const times = [];
  for (let i = 0; i < RUNS; i++) times.push(await readyMs(p.path, p.ready, p.state));
  results.push({ ...p, readyMs: median(times) });
}
await browser.close();

const chrome = await chromeLauncher.launch({
  chromePath: executablePath,
  chromeFlags: ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run"],
});
try {
  for (const r of results) {
    const cookie = (r.state?.cookies ?? []).map((c) => `${c.name}=${c.value}`).join("; ");
    const flags = {
      port: chrome.port, output: "json", logLevel: "error", onlyCategories: ["performance", "accessibility"],
      extraHeaders: cookie ? { Cookie: cookie } : undefined,
    };
    const mobile = (await lighthouse(base + r.path, flags)).lhr;
    const desktop = (await lighthouse(base + r.path, flags, desktopConfig)).lhr;
    const score = (lhr, c) => Math.round((lhr.categories[c]?.score ?? 0) * 100);
    const ms = (lhr, audit) => Math.round(lhr.audits[audit]?.numericValue ?? -1);
    console.log([r.name, Math.round(r.readyMs), score(mobile, "performance"), score(mobile, "accessibility"),
      score(desktop, "performance"), score(desktop, "accessibility"), ms(mobile, "interactive"),
      ms(mobile, "first-contentful-paint"), ms(mobile, "largest-contentful-paint"), ms(mobile, "total-blocking-time"),
      ms(mobile, "speed-index")].join(" "));
  }
} finally {
  await chrome.kill();
}
