// The docs stand alone. No source or doc file names a document the repository does not carry
// (the project's reference notes live outside it) or a directory of one machine; every relative
// link in the Markdown files reaches a file, and its #anchor a heading; every section a comment
// cites as `docs/NAME.md "Heading"` is a heading of that page; every path under a source folder
// that a file names exists; every `npm run` script named is in package.json; and docs/cli.md
// names every option of the command, and no other.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { BUILD_MACHINE_DIR } from "./support/build-machine-path.js";
import { cli } from "./support/run-cli.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const SCANNED = ["src", "assembly", "test", "bench", "scripts", "examples", "docs", "README.md"];
/** Files that must spell the forbidden strings to look for them. */
const SPELLERS = new Set(["test/docs.test.ts", "test/support/build-machine-path.ts"]);

/** Each string, and why a file of the repository may not contain it. */
const OUTSIDE_REFERENCES: [string, string][] = [
  ["VMI.md", "a VMI document outside the repository (the repository's is docs/vmi.md)"],
  ["DESIGN.md", "a design document outside the repository (see docs/architecture.md)"],
  ["STYLE.md", "a style guide outside the repository"],
  ["STYLE §", "a section of a style guide outside the repository: say the reason instead"],
  ["../shared", "a directory outside the repository"],
  [BUILD_MACHINE_DIR, "a directory on one machine"],
];

/** Repository-relative paths of the text files under SCANNED: tracked or new, not ignored. */
function scannedFiles(): string[] {
  const git = spawnSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", ...SCANNED], { cwd: ROOT, encoding: "utf8" });
  const listed = git.status === 0 ? git.stdout.split("\0").filter((f) => f !== "") : SCANNED.flatMap((p) => walk(p));
  return listed.filter((f) => existsSync(join(ROOT, f)) && !readFileSync(join(ROOT, f)).includes(0));
}

/** Without git (an unpacked archive): every file under `path`, but build output and dependencies. */
function walk(path: string): string[] {
  const full = join(ROOT, path);
  if (!existsSync(full)) return [];
  if (!statSync(full).isDirectory()) return [path];
  return readdirSync(full)
    .filter((name) => !["node_modules", "build", "dist", "out"].includes(name))
    .flatMap((name) => walk(join(path, name)));
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

/** The headings of a Markdown file, outside code blocks. */
function headings(markdown: string): string[] {
  return withoutCode(markdown)
    .split("\n")
    .filter((line) => /^#{1,6} /.test(line))
    .map((line) => line.replace(/^#+ /, "").trim());
}

function withoutCode(markdown: string): string {
  return markdown.replace(/^```[^\n]*\n[\s\S]*?^```/gm, "").replace(/`[^`\n]*`/g, "");
}

const files = scannedFiles();
const text = (f: string) => readFileSync(join(ROOT, f), "utf8");

/** The folders whose paths the docs and comments name; a path under any of them must exist. */
const SOURCE_FOLDERS = ["src", "assembly", "test", "bench", "scripts", "examples", "docs"];

/** `p` exists as written, as a file of that name with an extension, as a test of that name, or as output git ignores. */
function pathExists(p: string): boolean {
  const full = join(ROOT, p);
  if (existsSync(full) || existsSync(`${full}.test.ts`)) return true;
  const dir = dirname(full);
  const base = full.slice(dir.length + 1);
  if (existsSync(dir) && readdirSync(dir).some((name) => name.startsWith(`${base}.`))) return true;
  return spawnSync("git", ["check-ignore", "-q", p], { cwd: ROOT }).status === 0;
}

describe("the docs stand alone", () => {
  it("scans the sources and docs", () => {
    for (const f of ["README.md", "docs/vmi.md", "docs/architecture.md", "src/machine.ts", "assembly/layout.ts"]) expect(files).toContain(f);
  });

  it("no file points outside the repository", () => {
    const found: string[] = [];
    for (const f of files) {
      if (SPELLERS.has(f)) continue;
      const lines = text(f).split("\n");
      lines.forEach((line, i) => {
        for (const [s, why] of OUTSIDE_REFERENCES) if (line.includes(s)) found.push(`${f}:${i + 1}: "${s}" names ${why}`);
      });
    }
    expect(found).toEqual([]);
  });

  it("every relative Markdown link reaches a file, and its anchor a heading", () => {
    const broken: string[] = [];
    for (const f of files.filter((f) => f.endsWith(".md"))) {
      const links = withoutCode(text(f)).matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g);
      for (const [, target] of links) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto:
        const [path, anchor] = target.split("#", 2);
        const dest = path === "" ? f : relative(ROOT, join(ROOT, dirname(f), decodeURIComponent(path)));
        if (!existsSync(join(ROOT, dest))) {
          broken.push(`${f}: (${target}): no file ${dest}`);
          continue;
        }
        if (anchor !== undefined && dest.endsWith(".md") && !headings(text(dest)).map(slug).includes(anchor)) {
          broken.push(`${f}: (${target}): ${dest} has no heading with the anchor #${anchor}`);
        }
      }
    }
    expect(broken).toEqual([]);
  });

  it("every docs section a file cites exists", () => {
    const missing: string[] = [];
    let cited = 0;
    for (const f of files) {
      if (SPELLERS.has(f)) continue;
      // A citation may wrap onto the next comment line: fold the leader (//, *, ;) away.
      for (const m of text(f).matchAll(/docs\/([\w-]+\.md),? "([^"]+)"/g)) {
        const page = `docs/${m[1]}`;
        const section = m[2].replace(/\s*\n\s*(?:\/\/|\*|;)?\s*/g, " ");
        cited++;
        if (!existsSync(join(ROOT, page))) missing.push(`${f}: ${page} does not exist`);
        else if (!headings(text(page)).includes(section)) missing.push(`${f}: ${page} has no section "${section}"`);
      }
    }
    expect(missing).toEqual([]);
    expect(cited).toBeGreaterThan(10);
  });

  it("every path under a source folder that a file names exists", () => {
    // A path written out (`src/devices/pit8254.ts`, `test/oracle`), not a pattern (`<group>`,
    // `*.svg`, `NAME.ts`, `…`). It may name a file without its extension (`bench/guests/io-loop`
    // for io-loop.asm and .bin), a test by its name (its .test.ts file), or build output git
    // ignores (`examples/browser/out/`).
    const path = new RegExp(`(?<![\\w./-])((?:${SOURCE_FOLDERS.join("|")})/[\\w./-]*[\\w/])([^\\s\`'")\\]]*)`, "g");
    const missing = new Set<string>();
    for (const f of files) {
      if (f.includes("/golden/")) continue;
      for (const [, p, rest] of text(f).matchAll(path)) {
        if (/[<*{]/.test(rest) || rest.startsWith("…") || p.includes("NAME") || pathExists(p)) continue;
        missing.add(`${f}: ${p}`);
      }
    }
    expect([...missing]).toEqual([]);
  });

  it("every `npm run` script a file names is in package.json", () => {
    const scripts = Object.keys(JSON.parse(text("package.json")).scripts as Record<string, string>);
    const unknown: string[] = [];
    for (const f of files) {
      for (const [, name] of text(f).matchAll(/\bnpm run ([\w:.-]*\w)/g)) if (!scripts.includes(name)) unknown.push(`${f}: npm run ${name}`);
    }
    expect(unknown).toEqual([]);
  });

  it("docs/cli.md names every option of the command, and only those", async () => {
    const offered = new Set<string>();
    for (const args of [["--help"], ["run", "--help"], ["bench", "--help"]]) {
      const r = await cli(args);
      expect(r.status).toBe(0);
      for (const [, short, long] of r.stdout.matchAll(/^ {2}(?:(-\w), )?(--[\w-]+)/gm)) {
        if (short) offered.add(short);
        offered.add(long);
      }
    }
    expect(offered.size).toBeGreaterThan(20);
    const page = text("docs/cli.md");
    const tableRows = page.split("\n").filter((line) => line.startsWith("| `-"));
    const documented = new Set(tableRows.flatMap((line) => [...line.split(" | ")[0].matchAll(/`(--?[\w-]+)/g)].map((m) => m[1])));
    expect([...offered].filter((o) => !documented.has(o)), "options the command takes that docs/cli.md does not list").toEqual([]);
    expect([...documented].filter((o) => !offered.has(o)), "options docs/cli.md lists that the command does not take").toEqual([]);
  });
});
