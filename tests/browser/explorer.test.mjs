// Browser tests of `il1sim serve`: Debian's Chromium (/usr/bin/chromium) driven by
// playwright-core. Starts the release binary on a free loopback port, drives the page as a
// person would, saves screenshots (docs/images/explorer-*.png, or $SCREENSHOT_DIR) and
// prints the page's recompute-and-draw times. Run: `npm test` here, after
// `cargo build --release -p il1sim-cli` (or set IL1SIM_BIN).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const bin = process.env.IL1SIM_BIN || join(root, "target/release/il1sim");
const shots = process.env.SCREENSHOT_DIR || join(root, "docs/images");
// Flags for a closed network: no background traffic, no first-run, no GPU (headless).
const FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
// Upper bound on any wait for the page (ms): generous for a loaded 2-core CI machine.
const WAIT = 60_000;

let server, base, browser, context;
const foreign = [];
const timings = { recompute_ms: [], band_ms: [] };

before(async () => {
  server = spawn(bin, ["serve", "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
  const line = await new Promise((ok, fail) => {
    const rl = createInterface({ input: server.stdout });
    rl.once("line", ok);
    server.once("exit", (code) => fail(new Error(`il1sim serve exited with ${code}`)));
  });
  base = line.match(/http:\/\/127\.0\.0\.1:\d+/)[0];
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", headless: true, args: FLAGS });
  context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  context.on("request", (r) => { if (!r.url().startsWith(base) && !r.url().startsWith("blob:") && !r.url().startsWith("data:")) foreign.push(r.url()); });
  mkdirSync(shots, { recursive: true });
});

after(async () => {
  if (browser) await browser.close();
  if (server) server.kill();
  const sorted = [...timings.recompute_ms].sort((a, b) => a - b);
  const median = sorted.length ? sorted[Math.floor(sorted.length / 2)] : NaN;
  const report = { ...timings, recompute_median_ms: median, recompute_max_ms: sorted[sorted.length - 1] };
  console.log(`# explorer timings: recompute+draw median ${median.toFixed(1)} ms, max ${report.recompute_max_ms.toFixed(1)} ms over ${sorted.length} changes; band ${timings.band_ms.map((m) => m.toFixed(0)).join(", ")} ms`);
  if (process.env.TIMINGS_FILE) writeFileSync(process.env.TIMINGS_FILE, JSON.stringify(report, null, 2));
});

async function renders(page) { return Number(await page.evaluate(() => document.body.dataset.renders || 0)); }

// Wait for the page to finish a render after `count` renders.
async function rendered(page, count) {
  await page.waitForFunction((n) => Number(document.body.dataset.renders || 0) > n, count, { timeout: WAIT });
  const ms = Number(await page.evaluate(() => document.body.dataset.recomputeMs));
  timings.recompute_ms.push(ms);
  return ms;
}

async function open(path) {
  const page = await context.newPage();
  await page.goto(base + path);
  await rendered(page, 0);
  return page;
}

async function setValue(page, selector, value) {
  const n = await renders(page);
  await page.fill(selector, String(value));
  await rendered(page, n);
}

const drugPath = (page) => page.locator('#plots figure[data-panel="drug"] path[stroke="#0072B2"]').first().getAttribute("d");

test("changing the dose redraws the plot", async () => {
  const page = await open("/?disease=ra");
  const before = await drugPath(page);
  await setValue(page, "#a-dose", 200);
  const after = await drugPath(page);
  assert.notEqual(after, before, "the concentration curve did not change with the dose");
  for (const dose of [150, 300, 50, 100]) await setValue(page, "#a-dose", dose);
  assert.match(await page.locator("#status").textContent(), /recomputed and drawn in \d+ ms/);
  await page.screenshot({ path: join(shots, "explorer-single.png"), fullPage: true });
  // A refused dose is explained, and the server still answers the next one.
  await page.fill("#a-dose", "0");
  await page.waitForFunction(() => document.getElementById("errors").textContent.includes("dose"), null, { timeout: WAIT });
  assert.match(await page.locator("#errors").textContent(), /dose '0mg': a dose must be > 0/);
  const n = await renders(page);
  await page.fill("#a-dose", "100");
  await rendered(page, n);
  assert.equal(await page.locator("#errors").textContent(), "");
  await page.close();
});

test("a shared link reproduces the view", async () => {
  const page = await open("/");
  await setValue(page, "#a-dose", 2);
  await page.selectOption("#a-unit", "mg/kg");
  await page.waitForFunction(() => location.search.includes("a.unit=mg%2Fkg"), null, { timeout: WAIT });
  await setValue(page, "#weight", 45);
  await setValue(page, "#a-missed", "5, 6");
  await page.selectOption("#disease", "caps");
  await page.waitForFunction(() => location.search.includes("disease=caps") && document.body.dataset.renders, null, { timeout: WAIT });
  await page.waitForTimeout(500);
  const url = page.url();
  const curve = await drugPath(page);
  const other = await open(url.slice(base.length));
  for (const [sel, value] of [["#a-dose", "2"], ["#a-unit", "mg/kg"], ["#weight", "45"], ["#a-missed", "5, 6"], ["#disease", "caps"]]) {
    assert.equal(await other.inputValue(sel), value, `${sel} after following ${url}`);
  }
  assert.equal(await drugPath(other), curve, "the same link drew a different curve");
  assert.equal(await other.locator("#link").inputValue(), url);
  await page.close();
  await other.close();
});

test("the mechanism view moves with the time slider and plays", async () => {
  const page = await open("/?disease=ra&days=14");
  const opacity = () => page.locator('#mechanisms g.receptor[data-state="anakinra"]').first().getAttribute("opacity");
  const signal = () => page.locator("#mechanisms g.signal").first().getAttribute("opacity");
  await page.locator("#time").fill("0");
  const [o0, s0] = [await opacity(), await signal()];
  await page.locator("#time").fill("80");
  const [o1, s1] = [await opacity(), await signal()];
  assert.notEqual(o1, o0, "anakinra-bound receptors did not change with time");
  assert.notEqual(s1, s0, "the signal arrow did not change with time");
  assert.equal(await page.locator("#time-label").textContent(), "day 3.33");
  assert.match(page.url(), /[?&]t=80/);
  // The cursor on the plots follows the slider.
  const x1 = await page.locator("#plots line.cursor").first().getAttribute("x1");
  await page.locator("#time").fill("200");
  assert.notEqual(await page.locator("#plots line.cursor").first().getAttribute("x1"), x1);
  // Play, from the keyboard: focus the button and press Enter.
  await page.locator("#time").fill("0");
  await page.focus("#play");
  await page.keyboard.press("Enter");
  assert.equal(await page.getAttribute("#play", "aria-pressed"), "true");
  await page.waitForFunction(() => Number(document.getElementById("time").value) > 24, null, { timeout: WAIT });
  await page.keyboard.press("Enter");
  assert.equal(await page.getAttribute("#play", "aria-pressed"), "false");
  await page.locator("#time").fill("80");
  await page.locator("section.mechanism").screenshot({ path: join(shots, "explorer-mechanism.png") });
  await page.close();
});

test("two regimens side by side", async () => {
  const page = await open("/?disease=caps&days=56");
  const n = await renders(page);
  await page.check("#cmp");
  await rendered(page, n);
  await page.selectOption("#b-drug", "canakinumab");
  await setValue(page, "#b-dose", 150);
  await setValue(page, "#b-every", 8);
  await page.selectOption("#b-eu", "w");
  await page.waitForFunction(() => location.search.includes("b.eu=w"), null, { timeout: WAIT });
  await page.waitForFunction(() => document.querySelectorAll('#mechanisms figure').length === 2 && document.getElementById("summary").textContent.includes("canakinumab"), null, { timeout: WAIT });
  await page.waitForTimeout(300);
  assert.equal(await page.locator('#plots figure[data-panel="drug"] path[stroke="#D55E00"][stroke-dasharray]').count(), 1);
  assert.equal(await page.locator("#summary th[scope=col]").count(), 3);
  assert.equal(await page.locator("#csv-b").isVisible(), true);
  await page.locator("#time").fill("300");
  await page.screenshot({ path: join(shots, "explorer-compare.png"), fullPage: true });
  // The figure download is one SVG with every panel and both diagrams.
  const svg = await page.evaluate(() => window.il1sim.figureSvg());
  assert.ok(svg.startsWith("<svg") && (svg.match(/<svg/g) || []).length >= 8, svg.slice(0, 200));
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#csv-a")]);
  assert.equal(download.suggestedFilename(), "il1sim-a.csv");
  await page.close();
});

test("the population band", async () => {
  const page = await open("/?disease=ra");
  for (let k = 0; k < 2; k++) {
    const bandsBefore = Number(await page.evaluate(() => document.body.dataset.bands || 0));
    if (k === 0) await page.check("#band"); else await setValue(page, "#a-dose", 200);
    await page.waitForFunction((b) => Number(document.body.dataset.bands || 0) > b, bandsBefore, { timeout: WAIT });
    timings.band_ms.push(Number(await page.evaluate(() => document.body.dataset.bandMs)));
  }
  assert.ok(await page.locator('#plots path[fill-opacity="0.15"]').count() >= 5, "no band drawn");
  assert.match(await page.locator("#band-note").textContent(), /200 subjects of scenarios\/ra-renal-population\.toml/);
  await page.screenshot({ path: join(shots, "explorer-band.png"), fullPage: true });
  // A disease without a population file cannot ask for a band.
  await page.selectOption("#disease", "sepsis");
  await page.waitForFunction(() => document.getElementById("band").disabled, null, { timeout: WAIT });
  await page.close();
});

test("every control has a label and the page loads nothing from elsewhere", async () => {
  const page = await open("/?cmp=1");
  const unlabelled = await page.evaluate(() => [...document.querySelectorAll("input, select, button")]
    .filter((e) => !e.hidden && e.type !== "hidden" && !(e.labels && e.labels.length) && !e.getAttribute("aria-label") && !(e.tagName === "BUTTON" && e.textContent.trim()))
    .map((e) => e.id || e.outerHTML.slice(0, 60)));
  assert.deepEqual(unlabelled, []);
  // Tab reaches the first control.
  await page.keyboard.press("Tab");
  await page.keyboard.press("Tab");
  const focused = await page.evaluate(() => document.activeElement && document.activeElement.tagName);
  assert.ok(["A", "SELECT", "INPUT"].includes(focused), focused);
  assert.deepEqual(foreign, []);
  await page.close();
});

test("the validation table page", async () => {
  const page = await context.newPage();
  await page.goto(base + "/validation");
  await page.waitForFunction(() => Number(document.body.dataset.validationRows || 0) >= 8, null, { timeout: WAIT * 2 });
  const first = await page.locator("#validation-table tbody tr").first().textContent();
  assert.match(first, /pass|FAIL|known/);
  await page.screenshot({ path: join(shots, "explorer-validation.png") });
  await page.close();
});
