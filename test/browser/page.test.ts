// The example page (examples/browser) in headless Chromium: built and served on 127.0.0.1 as
// `npm run example:browser` does, the demo guest must pass with its output in the xterm.js
// terminal and its statistics beside it; a guest picked with the file input must get the keys
// typed into the terminal on COM1. Screenshots go to test-results/browser/ to look at.

import { mkdirSync } from "node:fs";
import type { Server } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { buildExample } from "../../examples/browser/build.js";
import { serveStatic } from "../../examples/browser/serve.js";
import { CHROMIUM as CHROMIUM_TOOL, requiresTool } from "../support/requires-tool.js";
import { type HeadlessChromium, launchChromium } from "./chromium.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const SHOTS = join(root, "test-results/browser");

// Needs Debian's chromium (probed by running it: a file in its place is not enough): outside CI a
// machine without it skips with one line naming the package; in CI (CI=true) it fails instead.
requiresTool(CHROMIUM_TOOL).describe("the example page in headless Chromium", () => {
  let server: Server;
  let url: string;
  let chromium: HeadlessChromium;

  beforeAll(async () => {
    ({ server, url } = await serveStatic(await buildExample(), 0));
    chromium = await launchChromium();
    mkdirSync(SHOTS, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await chromium?.close();
    server?.close();
  });

  /** A page of the example with its console errors collected. */
  async function open(): Promise<{ page: Page; errors: string[] }> {
    const page = await chromium.context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    await page.goto(url);
    return { page, errors };
  }

  /**
   * The terminal's text once the guest's last line (PASS) is drawn: xterm.js parses writes and
   * draws them asynchronously, so the run's end state can reach the page before its last output
   * shows. If PASS never shows, the assertions on the text say what is missing.
   */
  const terminalText = async (page: Page) => {
    await page
      .waitForFunction(() => document.querySelector("#terminal .xterm-rows")?.textContent?.includes("PASS"), null, { timeout: 10_000 })
      .catch(() => undefined);
    return page.locator("#terminal .xterm-rows").innerText();
  };
  const stat = (page: Page, name: string) => page.locator(`#stat-${name}`).innerText();
  const ended = (page: Page) =>
    page.waitForFunction(() => !["starting", "running", undefined].includes(document.body.dataset.state), null, { timeout: 60_000 });

  it("runs the demo guest on load: PASS in the terminal, the statistics beside it", async () => {
    const { page, errors } = await open();
    await ended(page);
    expect(await stat(page, "state")).toBe("debug-exit, exit code 1");
    const text = await terminalText(page);
    expect(text).toContain("vmi386 demo guest: hello from 32-bit protected mode");
    expect(text).toContain("mandelbrot: 12633 iterations in total");
    expect(text.trimEnd().endsWith("PASS")).toBe(true);
    const instructions = Number((await stat(page, "instructions")).replaceAll(",", ""));
    expect(instructions).toBeGreaterThan(100_000);
    expect(Number(await stat(page, "mips"))).toBeGreaterThan(0);
    const exits = Number((await stat(page, "exits")).replaceAll(",", ""));
    const ports = Number((await stat(page, "portIn")).replaceAll(",", "")) + Number((await stat(page, "portOut")).replaceAll(",", ""));
    expect(exits).toBe(ports); // the demo polls COM1 and takes no interrupt
    expect(exits).toBeGreaterThan(1000);
    await page.screenshot({ path: join(SHOTS, "page.png") });
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it("runs a picked file and feeds the keys typed into the terminal to COM1", async () => {
    const { page, errors } = await open();
    await ended(page);
    await page.setInputFiles("#image", join(root, "test/guests/uart/uart.elf"));
    await page.click("#run-file");
    await page.waitForFunction(() => document.querySelector("#terminal .xterm-rows")?.textContent?.includes("ready> "), null, { timeout: 60_000 });
    await page.click("#terminal");
    await page.keyboard.type("hello, uart");
    await page.keyboard.press("Enter");
    await ended(page);
    expect(await stat(page, "state")).toBe("debug-exit, exit code 1");
    const text = await terminalText(page);
    expect(text).toContain("ECHO: HELLO, UART");
    expect(text.trimEnd().endsWith("PASS")).toBe(true);
    await page.screenshot({ path: join(SHOTS, "page-uart.png") });
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);
});
