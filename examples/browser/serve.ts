// A static file server for the example page, on the loopback interface only. `npm run
// example:browser` builds the page and serves it here; the page test does the same on port 0.

import { createReadStream, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { buildExample } from "./build.js";

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json",
  // Streaming compilation (WebAssembly.compileStreaming) insists on this type.
  ".wasm": "application/wasm",
  ".elf": "application/octet-stream",
};

/** Serves the files under `dir` on 127.0.0.1:`port` (0: any free port); resolves once listening. */
export function serveStatic(dir: string, port: number): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://localhost").pathname);
    const file = normalize(join(dir, path === "/" ? "index.html" : path));
    let size = -1;
    try {
      const st = statSync(file);
      if (file.startsWith(dir + sep) && st.isFile()) size = st.size;
    } catch {
      // a missing file is a 404, as a path outside dir is
    }
    if (size < 0) {
      res.writeHead(404, { "content-type": "text/plain" }).end(`not found: ${path}\n`);
      return;
    }
    res.writeHead(200, { "content-type": CONTENT_TYPES[extname(file)] ?? "application/octet-stream", "content-length": size, "cache-control": "no-store" });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const { port: bound } = server.address() as AddressInfo;
      resolve({ server, url: `http://127.0.0.1:${bound}/` });
    });
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const port = Number(process.env.PORT ?? 8386);
  const dir = await buildExample();
  const { url } = await serveStatic(dir, port);
  console.log(`vmi386 example page: ${url} (Ctrl-C stops the server)`);
}
